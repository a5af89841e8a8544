/* Movement: count-ups, confetti, and whether to move at all (reduced motion, first paint). */

import { el } from "./dom.js";

const motionQuery = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : null;
let drawInstantly = false; // the first paint: the numbers appear as they are, no count-up

export function reducedMotion() {
  return drawInstantly || !!(motionQuery && motionQuery.matches);
}

// Runs draw() with every animation finished at once (the first snapshot's paint).
export function withoutMotion(draw) {
  drawInstantly = true;
  try { draw(); } finally { drawInstantly = false; }
}

// Counts a number from `from` to `to` (ease-out), calling draw(value, done). A timer
// finishes the count even where animation frames are paused (hidden tabs, OBS scenes).
export function countUp(from, to, duration, draw) {
  if (reducedMotion() || from === to || duration <= 0) { draw(to, true); return () => {}; }
  let start = null, finished = false, frame = 0;
  function finish() { if (!finished) { finished = true; cancelAnimationFrame(frame); draw(to, true); } }
  function step(now) {
    if (finished) return;
    if (start === null) start = now;
    const t = Math.min(1, (now - start) / duration);
    if (t >= 1) { finish(); return; }
    draw(from + (to - from) * (1 - Math.pow(1 - t, 3)), false);
    frame = requestAnimationFrame(step);
  }
  frame = requestAnimationFrame(step);
  const timer = setTimeout(finish, duration + 200);
  return function cancel() { finished = true; cancelAnimationFrame(frame); clearTimeout(timer); };
}

const CONFETTI = ["#f94144", "#f3722c", "#f9c74f", "#90be6d", "#43aa8b", "#577590", "#c77dff"];

export function confetti() {
  if (reducedMotion() || !document.body.animate) return;
  const layer = el("div");
  layer.setAttribute("aria-hidden", "true");
  layer.style.cssText = "position:fixed;inset:0;pointer-events:none;overflow:hidden;z-index:10";
  document.body.appendChild(layer);
  for (let i = 0; i < 36; i++) {
    const bit = el("span");
    const size = 6 + Math.random() * 6;
    bit.style.cssText = "position:absolute;top:-12px;width:" + size + "px;height:" + size * 0.5 + "px;left:" +
      Math.random() * 100 + "%;background:" + CONFETTI[i % CONFETTI.length] + ";border-radius:2px";
    layer.appendChild(bit);
    bit.animate(
      [{ transform: "translate(0,0) rotate(0)" },
       { transform: "translate(" + (Math.random() * 80 - 40) + "px," + (window.innerHeight + 40) + "px) rotate(" + Math.random() * 720 + "deg)" }],
      { duration: 1400 + Math.random() * 1200, easing: "cubic-bezier(.2,.6,.4,1)", delay: Math.random() * 300, fill: "forwards" });
  }
  setTimeout(() => { layer.remove(); }, 3000);
}
