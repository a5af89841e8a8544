/* DOM helpers shared by the widget modules. Everything a donor typed goes through el(),
 * which sets it as textContent, never as HTML. */

export function byId(id) {
  return document.getElementById(id);
}

export function readJSON(id) {
  const node = byId(id);
  try { return node ? JSON.parse(node.textContent) : null; } catch (e) { return null; }
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// Plays a CSS animation class again (removed first, so a repeat restarts it).
export function restartClass(node, name) {
  node.classList.remove(name);
  void node.offsetWidth; // restart the CSS animation
  node.classList.add(name);
  setTimeout(() => { node.classList.remove(name); }, 1700);
}
