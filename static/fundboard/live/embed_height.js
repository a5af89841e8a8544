/* Framed by embed.js: tell the parent page our height so its iframe fits the content. */

export function reportHeight(widget) {
  if (window.parent === window || !window.ResizeObserver) return;
  let last = 0;
  new ResizeObserver(() => {
    const height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: "fundboard:resize", widget, height }, "*");
  }).observe(document.body);
}
