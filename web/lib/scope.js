// Everything one mount of the panel registers, undone in one call when the tab closes.

export class Scope {
  /** @param {{live: number}} [stats] A shared counter of registrations not yet undone. */
  constructor(stats = { live: 0 }) {
    this.stats = stats;
    this.disposers = [];
    this.disposed = false;
  }

  /** Register a function that undoes something; it runs once, at dispose(). */
  add(dispose) {
    if (this.disposed) {
      dispose();
      return () => {};
    }
    let done = false;
    this.stats.live += 1;
    const once = () => {
      if (done) return;
      done = true;
      this.stats.live -= 1;
      dispose();
    };
    this.disposers.push(once);
    return once;
  }

  /** addEventListener, removed at dispose(). */
  listen(target, type, fn, options) {
    target.addEventListener(type, fn, options);
    return this.add(() => target.removeEventListener(type, fn, options));
  }

  /** A store subscription, removed at dispose(). */
  subscribe(store, topic, fn) {
    return this.add(store.subscribe(topic, fn));
  }

  /** setTimeout, cleared at dispose(). */
  timeout(fn, ms) {
    let undo = null;
    const id = setTimeout(() => {
      undo();
      fn();
    }, ms);
    undo = this.add(() => clearTimeout(id));
    return undo;
  }

  dispose() {
    this.disposed = true;
    const disposers = this.disposers.splice(0).reverse();
    for (const dispose of disposers) dispose();
  }
}
