// The ring: a two-tone chime every 2 s from Web Audio (no sound file to fetch) and, when
// the page is not in front, a browser notification. Browsers let a page make sound only
// after the user has used it: the first click on the page unlocks it (`unlock`).

const PERMISSION_ASKED = "cti.notify-asked";

export class Ringer {
  private audio: AudioContext | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private notification: Notification | null = null;

  unlock(): void {
    this.audio ??= new AudioContext();
    void this.audio.resume().catch(() => undefined);
    if ("Notification" in window && Notification.permission === "default" && !localStorage.getItem(PERMISSION_ASKED)) {
      localStorage.setItem(PERMISSION_ASKED, "1");
      void Notification.requestPermission();
    }
  }

  start(text: string): void {
    this.stop();
    document.documentElement.dataset.ringing = "true";
    this.chime();
    this.timer = setInterval(() => this.chime(), 2000);
    if ("Notification" in window && Notification.permission === "granted" && document.visibilityState !== "visible") {
      this.notification = new Notification(text, { tag: "cti-ring", requireInteraction: true });
      this.notification.onclick = () => window.focus();
    }
  }

  stop(): void {
    delete document.documentElement.dataset.ringing;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.notification?.close();
    this.notification = null;
  }

  private chime(): void {
    const audio = this.audio;
    if (!audio || audio.state !== "running") return;
    for (const [frequency, at] of [
      [880, 0],
      [660, 0.35],
    ]) {
      const tone = audio.createOscillator();
      const level = audio.createGain();
      tone.frequency.value = frequency;
      level.gain.setValueAtTime(0.0001, audio.currentTime + at);
      level.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + at + 0.02);
      level.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + at + 0.3);
      tone.connect(level).connect(audio.destination);
      tone.start(audio.currentTime + at);
      tone.stop(audio.currentTime + at + 0.32);
    }
  }
}
