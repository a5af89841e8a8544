/* The thermometer: total (counting up), goal, bar, milestones, stretch goal, count, the
 * goal badge and celebrations, and the active sponsor match line (match.js). */

import { announce } from "./announce.js";
import { byId, el } from "./dom.js";
import { toNumber } from "./format.js";
import { matchFollower } from "../match.js";
import { barTarget, crossing, milestoneMarks, wholePercent } from "./milestones.js";
import { confetti, countUp } from "./motion.js";
import { config, donationsWord, locale, money, percents, integers, word } from "./page.js";

// Close milestones on a narrow screen ("$5,0$10,000"): a label that would touch one
// already kept is hidden (its tick stays). The largest is kept first, then left to right.
function unclutterLabels(bar) {
  const labels = Array.from(bar.querySelectorAll(".fb-milestone-label"));
  labels.forEach((label) => label.classList.remove("is-crowded"));
  const order = labels.length ? [labels[labels.length - 1]].concat(labels.slice(0, -1)) : [];
  const kept = [], GAP = 4;
  order.forEach((label) => {
    const box = label.getBoundingClientRect();
    const clash = kept.some((k) => box.left < k.right + GAP && k.left < box.right + GAP && box.top < k.bottom && k.top < box.bottom);
    if (clash) label.classList.add("is-crowded");
    else kept.push(box);
  });
}

export function Thermometer() {
  const section = document.querySelector(".fb-thermo");
  const totalEl = byId("total");
  const prefixEl = document.querySelector('.fb-cur[data-part="prefix"]');
  const suffixEl = document.querySelector('.fb-cur[data-part="suffix"]');
  const bar = byId("bar"), fill = byId("fill");
  const badge = byId("goal-badge"), celebration = byId("celebration");
  const drawMatch = matchFollower(byId("match"), money.text, locale, config.words);
  // The page carries no numbers: the first snapshot is drawn at once (no count-up from 0).
  let shownTotal = 0, shownCount = 0, lastTotal = null, marksKey = "", hideTimer = 0;
  let stopTotal = () => {}, stopCount = () => {};

  // Measured again when the bar resizes and once web fonts have loaded (widths change).
  if (window.ResizeObserver) new ResizeObserver(() => unclutterLabels(bar)).observe(bar);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(() => unclutterLabels(bar));

  // `value` is the counting number (null once done: then the exact total as sent).
  function drawTotal(value, currency, exact) {
    const p = money.parts(exact, currency);
    if (value !== null) p.number = money.parts(value, currency).number;
    prefixEl.textContent = p.prefix;
    totalEl.textContent = p.number;
    suffixEl.textContent = p.suffix;
  }

  function drawMilestones(snapshot, total, target) {
    const marks = milestoneMarks(snapshot, target);
    const key = target.amount + "|" + marks.map((m) => m.amount).join(",") + "|" + snapshot.currency;
    if (key !== marksKey) {
      marksKey = key;
      bar.querySelectorAll(".fb-milestone").forEach((m) => m.remove());
      marks.forEach((mark) => {
        const node = el("div", "fb-milestone");
        node.style.left = mark.at;
        node.style.setProperty("--fb-at", mark.at);
        node.setAttribute("data-amount", mark.amount);
        node.appendChild(el("span", "fb-milestone-label fb-amount", money.short(mark.amount, snapshot.currency)));
        bar.appendChild(node);
      });
      unclutterLabels(bar);
    }
    bar.querySelectorAll(".fb-milestone").forEach((m) => {
      m.classList.toggle("is-reached", total >= toNumber(m.getAttribute("data-amount")));
    });
  }

  function celebrate(message) {
    celebration.textContent = message;
    celebration.hidden = false;
    clearTimeout(hideTimer);
    hideTimer = setTimeout(() => { celebration.hidden = true; }, 8000);
    confetti();
  }

  function celebrateCrossing(snapshot, before, after) {
    const crossed = crossing(snapshot, before, after);
    if (!crossed) return;
    if (crossed.goal) { celebrate("\uD83C\uDF89 " + word("goal_reached_thanks", "Goal reached! Thank you!")); return; }
    const amount = money.short(crossed.milestone, snapshot.currency);
    celebrate("\uD83C\uDF89 " + word("milestone_reached", "Milestone reached: %(amount)s").replace("%(amount)s", amount));
  }

  function drawCount(count) {
    stopCount();
    stopCount = countUp(shownCount, count, 900, (value) => {
      shownCount = value;
      byId("count").textContent = integers.format(Math.round(value));
    });
    byId("count-label").textContent = donationsWord(count);
  }

  function drawBar(snapshot, total, goal, target) {
    const whole = wholePercent(snapshot, total, target);
    const width = Math.min(100, whole) + "%";
    byId("stretch").hidden = !target.stretching;
    byId("stretch-goal").textContent = target.stretching ? money.short(target.amount, snapshot.currency) : "";
    fill.style.width = width;
    fill.style.setProperty("--fb-at", width); // the vertical tube's height
    // No goal set: the total and count alone, no "of $0.00" and no percentage.
    byId("of").hidden = byId("percent").hidden = byId("percent-sep").hidden = !(goal > 0);
    bar.setAttribute("aria-valuenow", String(Math.min(100, whole)));
    byId("percent").textContent = percents.format(whole / 100);
    return whole;
  }

  function render(snapshot) {
    const currency = snapshot.currency, total = toNumber(snapshot.total), goal = toNumber(snapshot.goal);
    drawMatch(snapshot);
    stopTotal();
    stopTotal = countUp(shownTotal, total, 1200, (value, done) => {
      shownTotal = value;
      drawTotal(done ? null : value, currency, snapshot.total);
    });
    totalEl.setAttribute("data-value", snapshot.total);
    byId("goal").textContent = money.text(snapshot.goal, currency);
    const target = barTarget(snapshot, total);
    const whole = drawBar(snapshot, total, goal, target);
    drawCount(snapshot.donation_count || 0);
    const reached = goal > 0 && total >= goal;
    section.classList.toggle("is-goal-reached", reached);
    badge.hidden = !reached;
    drawMilestones(snapshot, total, target);
    celebrateCrossing(snapshot, lastTotal, total);
    if (lastTotal !== null && lastTotal !== total) {
      announce(money.text(snapshot.total, currency) + " " + word("raised_of", "raised of") + " " + money.text(snapshot.goal, currency) + ", " + percents.format(whole / 100));
    }
    lastTotal = total;
  }
  return { render };
}
