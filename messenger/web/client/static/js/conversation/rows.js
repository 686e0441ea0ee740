// A list whose rows are kept by key and rebuilt only when what they show changed, so an update
// adds just its own row: the log (an ARIA live region) announces only what is new, and focus on
// a row's button survives.

/** Keep `list`'s children as the rows last shown, reusing every row whose signature is unchanged. */
export function keyedList(list) {
  const cache = new Map(); // row key → {signature, element}

  /** Show exactly `rows` ([{key, signature, build}]), in order. */
  function show(rows) {
    const used = new Set();
    const elements = rows.map(({ key, signature, build }) => {
      used.add(key);
      const cached = cache.get(key);
      if (cached?.signature === signature) return cached.element;
      const element = build();
      element.dataset.key = key;
      cache.set(key, { signature, element });
      return element;
    });
    elements.forEach((element, index) => {
      if (list.children[index] !== element) list.insertBefore(element, list.children[index] ?? null);
    });
    while (list.children.length > elements.length) list.lastElementChild.remove();
    for (const key of cache.keys()) if (!used.has(key)) cache.delete(key);
  }

  /** Empty the list; the rows stay cached for when it shows them again. */
  function clear() {
    list.replaceChildren();
  }

  return { show, clear };
}
