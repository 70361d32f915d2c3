// Wall mode sizes the page to the screen: the root font size (every length of the wall is
// in rem or em) is the largest, between MIN_PX and MAX_PX, at which the page neither
// scrolls down nor sideways. If even the smallest does not fit, the page is clipped
// (html.wall-clipped) rather than scrolled: a TV has nobody to scroll it.

export const MIN_PX = 9;
export const MAX_PX = 32;

export function fits(root: HTMLElement): boolean {
  return root.scrollHeight <= root.clientHeight + 1 && root.scrollWidth <= root.clientWidth + 1;
}

export function fitFont(root: HTMLElement): void {
  root.classList.remove("wall-clipped");
  let low = MIN_PX;
  let high = MAX_PX;
  root.style.fontSize = `${high}px`;
  if (fits(root)) return;
  while (high - low > 0.25) {
    const middle = (low + high) / 2;
    root.style.fontSize = `${middle}px`;
    if (fits(root)) low = middle;
    else high = middle;
  }
  root.style.fontSize = `${low}px`;
  root.classList.toggle("wall-clipped", !fits(root));
}

/** How many columns of queue cards a TV of this size shows: the layout that gives each card
 * the most room, a card being about as tall as it is wide and the queues having about 70 %
 * of the screen's height (the agents and alerts have the rest). Of two as good, the one
 * with fewer columns: fewer empty places. */
export function tvColumns(queues: number, width: number, height: number, most = 8): number {
  let best = 1;
  let room = 0;
  for (let columns = 1; columns <= Math.min(Math.max(queues, 1), most); columns++) {
    const rows = Math.ceil(queues / columns);
    const side = Math.min(width / columns, (height * 0.7) / rows);
    if (side > room * 1.01) {
      best = columns;
      room = side;
    }
  }
  return best;
}
