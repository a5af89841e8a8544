/* The thermometer's goal rule, in one place: what the bar fills toward, which milestones
 * are marked on it and which crossing is celebrated. Pure functions of a snapshot. */

import { toNumber } from "./format.js";

// Past the goal, the bar fills toward the next stretch goal: the smallest milestone above
// the goal not yet reached (the largest once all are).
export function barTarget(snapshot, total) {
  const goal = toNumber(snapshot.goal);
  const stretch = (snapshot.milestones || []).map(toNumber).filter((m) => m > goal).sort((a, b) => a - b);
  if (goal <= 0 || total < goal || !stretch.length) return { amount: goal, stretching: false };
  const next = stretch.find((m) => total < m);
  return { amount: next === undefined ? stretch[stretch.length - 1] : next, stretching: true };
}

// Whole percent toward the target, rounded down so 99.6% never shows as a premature 100%.
export function wholePercent(snapshot, total, target) {
  if (target.stretching) return Math.floor(total / target.amount * 100 + 1e-9);
  return Math.max(0, Math.floor(toNumber(snapshot.progress) * 100 + 1e-9));
}

// The marks inside the bar, smallest first: {amount (as sent), value, at ("25.00%")}.
// While stretching, the goal itself is a mark on the way to the next stretch goal.
export function milestoneMarks(snapshot, target) {
  const amounts = (snapshot.milestones || []).slice();
  if (target.stretching) amounts.push(snapshot.goal);
  return amounts
    .map((amount) => ({ amount: amount, value: toNumber(amount) }))
    .filter((mark) => target.amount > 0 && mark.value > 0 && mark.value <= target.amount)
    .sort((a, b) => a.value - b.value)
    .map((mark) => ({ ...mark, at: (mark.value / target.amount * 100).toFixed(2) + "%" }));
}

// What a change from `before` to `after` crossed: {goal: true}, {milestone: amount} (the
// largest crossed) or null. The goal wins when both are crossed at once.
export function crossing(snapshot, before, after) {
  if (before === null || after <= before) return null;
  const goal = toNumber(snapshot.goal);
  if (goal > 0 && before < goal && after >= goal) return { goal: true };
  const crossed = (snapshot.milestones || []).map(toNumber).filter((m) => before < m && after >= m);
  return crossed.length ? { milestone: Math.max(...crossed) } : null;
}
