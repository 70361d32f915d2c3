// Sign-in: POST the credentials as JSON; the server sets an HttpOnly session cookie.
const form = document.getElementById("login");
const error = document.getElementById("error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const data = new FormData(form);
  try {
    const response = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: data.get("username"), password: data.get("password") }),
      credentials: "same-origin",
    });
    if (!response.ok) {
      error.textContent = await response.text();
      return;
    }
    window.location.assign("/");
  } catch (failure) {
    error.textContent = `cannot reach the server (${failure.message})`;
  }
});
