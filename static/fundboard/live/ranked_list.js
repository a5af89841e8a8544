/* Ranked lists: the leaderboard (fundraisers or teams) and the top donors. Rows keep their
 * identity across snapshots, so a row that moves slides to its new place (FLIP). */

import { byId, el, restartClass } from "./dom.js";
import { toNumber } from "./format.js";
import { reducedMotion } from "./motion.js";
import { config, displayName, integers, money } from "./page.js";

export function fundraiserEntries(snapshot) {
  const entries = config.board === "teams" ? snapshot.teams : snapshot.fundraisers;
  return (entries || []).map((e) => ({ name: e.name, amount: e.raised, goal: e.goal }));
}

export function donorEntries(snapshot) {
  return (snapshot.top_donors || []).map((d) => ({ name: d.name, amount: d.total }));
}

// Two donors may share a name: the second "Ann" is keyed "Ann\0 2".
function keyed(entries) {
  const seen = {};
  return entries.map((entry) => {
    const key = String(entry.name);
    seen[key] = (seen[key] || 0) + 1;
    return { key: key + "\u0000" + seen[key], entry };
  });
}

function fillRow(row, rank, entry, currency) {
  // Snapshots come up to 4 times a second in a burst: leave an unchanged row alone.
  const signature = [rank, entry.name, entry.amount, entry.goal, currency].join("\u0000");
  if (row.__fbSignature === signature) return;
  row.__fbSignature = signature;
  row.textContent = "";
  row.appendChild(el("span", "fb-rank", integers.format(rank)));
  const name = el("bdi", "fb-name", displayName(entry.name));
  name.title = entry.name;
  row.appendChild(name);
  row.appendChild(el("span", "fb-amount fb-row-amount", money.text(entry.amount, currency)));
  const goal = toNumber(entry.goal);
  if (goal > 0) {
    const mini = el("span", "fb-minibar");
    mini.setAttribute("aria-hidden", "true");
    const inner = el("span");
    inner.style.width = Math.min(100, toNumber(entry.amount) / goal * 100) + "%";
    mini.appendChild(inner);
    row.appendChild(mini);
  }
}

// FLIP: each row slides from where it was to its new place; a new row flashes in.
function slide(fresh) {
  fresh.forEach((item) => {
    if (!item.old) { restartClass(item.row, "is-new"); return; }
    const dy = item.old.top - item.row.getBoundingClientRect().top;
    if (dy && item.row.animate) {
      item.row.animate([{ transform: "translateY(" + dy + "px)" }, { transform: "none" }],
        { duration: 650, easing: "cubic-bezier(.22,1,.36,1)" });
    }
    if (item.rank < item.old.rank) restartClass(item.row, "is-up");
  });
}

export function RankedList(pick) {
  const list = byId("list"), empty = byId("empty"), rows = config.rows || 10;

  function render(snapshot) {
    const entries = keyed(pick(snapshot).slice(0, rows));
    const before = {};
    Array.from(list.children).forEach((row, index) => {
      before[row.__fbKey] = { row, top: row.getBoundingClientRect().top, rank: index + 1 };
    });
    const fresh = [];
    entries.forEach((item, index) => {
      const old = before[item.key];
      const row = old ? old.row : el("li", "fb-row");
      row.__fbKey = item.key;
      fillRow(row, index + 1, item.entry, snapshot.currency);
      list.appendChild(row); // appending an existing node moves it: the list ends in rank order
      fresh.push({ row, old, rank: index + 1 });
      if (old) delete before[item.key];
    });
    Object.keys(before).forEach((key) => before[key].row.remove());
    empty.hidden = entries.length > 0;
    if (!reducedMotion()) slide(fresh);
  }
  return { render };
}
