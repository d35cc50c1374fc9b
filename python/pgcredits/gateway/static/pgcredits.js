// pgcredits.js: the browser widget of pgcredits (docs/widget.md). One ES module, no dependencies.
//
//   import { createCredits } from "https://gateway.example.com/widget/pgcredits.js";
//   createCredits({ url: "https://gateway.example.com", token: () => myApp.accessToken() });
//   <credits-counter></credits-counter>
//   <credits-gate feature="video_render"><button>Render</button></credits-gate>
//   <credits-history></credits-history>
//
// Amounts arrive as JSON numbers and are only shown (rounded down to 2 decimals): the ledger's
// exact arithmetic stays in PostgreSQL. The stream (/events) is an EventSource, which cannot send
// an Authorization header: the token goes in ?access_token=, which the gateway accepts on /events only.

const KINDS = ["balance_changed", "threshold_crossed", "depleted", "recovered", "feature_gated", "plan_changed"];
const LEVELS = [100, 90, 80];
const MAX_BACKOFF_MS = 30000;

/** An error answer of the gateway: `status` and its `{code, message, details, hint}` body. */
export class CreditsError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.name = "CreditsError";
    this.status = status;
    this.code = body && body.code;
    this.hint = body && body.hint;
  }
}

let defaultClient = null;
let announceClient;
const clientReady = new Promise((resolve) => (announceClient = resolve));

/** A client of the gateway at `url` for the account of `token` (a JWT, or a function returning one). */
export function createCredits({ url, token, account, creditType = "credits", register = true } = {}) {
  const client = new Credits(url, token, account, creditType);
  if (register && !defaultClient) {
    defaultClient = client;
    announceClient(client);
  }
  return client;
}

const one = (rows) => (Array.isArray(rows) ? rows[0] : rows);

function tokenSub(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)).sub || null;
  } catch {
    return null;
  }
}

function usedLevel(row) {
  if (!row || row.unlimited || !(row.granted_this_period > 0)) return 0;
  const share = row.used_this_period / row.granted_this_period;
  return LEVELS.find((level) => share * 100 >= level) || 0;
}

class Credits extends EventTarget {
  constructor(url, token, account, creditType) {
    super();
    this.url = String(url || globalThis.location.origin).replace(/\/+$/, "");
    this._token = token;
    this.account = account || null;
    this.creditType = creditType;
    this.state = null; // the get_balance row of creditType
    this.level = 0; // 0, 80, 90 or 100: how much of the period's granted credits is used
    this.connected = false;
    this._source = null;
    this._attempt = 0;
    this._timer = null;
    this._live = false;
  }

  async token() {
    const token = typeof this._token === "function" ? await this._token() : this._token;
    if (!token) throw new CreditsError(401, { code: "PGCREDITS_NO_TOKEN", message: "no token to call the gateway with" });
    return token;
  }

  async accountId() {
    if (!this.account) this.account = tokenSub(await this.token());
    if (!this.account) throw new CreditsError(400, { message: "the token names no account (no sub claim): pass account" });
    return this.account;
  }

  /** One RPC: GET for functions that change nothing, POST otherwise. Resolves to the JSON answer. */
  async rpc(fn, params = {}, { method = "POST", headers = {} } = {}) {
    const init = { method, headers: { Authorization: `Bearer ${await this.token()}`, ...headers } };
    let target = `${this.url}/rpc/${encodeURIComponent(fn)}`;
    if (method === "GET") {
      const query = Object.entries(params).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]);
      target += `?${new URLSearchParams(query)}`;
    } else {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(params);
    }
    const response = await fetch(target, init);
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = { message: text.slice(0, 200) };
    }
    if (!response.ok) throw new CreditsError(response.status, body);
    return body;
  }

  async _read(fn, params = {}) {
    return this.rpc(fn, { account_id: await this.accountId(), ...params }, { method: "GET" });
  }

  /** get_balance: every credit type's row; the client's own credit type also becomes `state`. */
  async balance() {
    const rows = await this._read("get_balance");
    this._apply(rows.find((row) => row.credit_type === this.creditType) || null, "balance");
    return rows;
  }

  /** check_feature: {allowed, reason, cost, available, period_remaining, draws}. */
  async check(feature, units = {}) {
    return one(await this._read("check_feature", { feature, units }));
  }

  /** deduct_credits, with an Idempotency-Key (a fresh one unless given): {ok, reason, charged, available, ...}. */
  async deduct(feature, units = {}, { idempotencyKey } = {}) {
    const key = idempotencyKey || `pgcredits-js-${crypto.randomUUID()}`;
    const params = { account_id: await this.accountId(), feature, units };
    const charge = one(await this.rpc("deduct_credits", params, { headers: { "Idempotency-Key": key } }));
    await this.balance().catch(() => {});
    return charge;
  }

  /** get_history: ledger rows, newest first. */
  async history({ pageSize = 20, beforeId } = {}) {
    return this._read("get_history", beforeId ? { page_size: pageSize, before_id: beforeId } : { page_size: pageSize });
  }

  /** get_quotas: one row per feature of the plan (period limit, used, remaining, next reset). */
  async quotas() {
    return this._read("get_quotas");
  }

  /** Calls onChange({kind, data}) for every event of the account, and keeps the stream open; returns unsubscribe. */
  subscribe(onChange) {
    const listener = (event) => onChange(event.detail);
    this.addEventListener("event", listener);
    this.start();
    return () => this.removeEventListener("event", listener);
  }

  /** Reads the balance and opens the stream (once; the elements call it). */
  start() {
    if (!this._live) {
      this._live = true;
      this.balance().catch((error) => this._emit("failed", { error }));
      this._open();
    }
    return this;
  }

  /** Closes the stream for good. */
  close() {
    this._live = false;
    clearTimeout(this._timer);
    if (this._source) this._source.close();
    this._source = null;
  }

  /** Re-reads the balance: the gateway asked (resync), or the stream came back after a gap. */
  async resync(why) {
    this._emit("event", { kind: "resync", data: { why } });
    await this.balance().catch((error) => this._emit("failed", { error }));
  }

  async _open() {
    if (!this._live || this._source) return;
    let token;
    try {
      token = await this.token();
    } catch (error) {
      this._emit("failed", { error });
      return this._reopen();
    }
    const source = new EventSource(`${this.url}/events?access_token=${encodeURIComponent(token)}`);
    this._source = source;
    // Every open (the first, and each reconnect) re-reads the balance: nothing sent meanwhile is lost.
    source.onopen = () => {
      this._attempt = 0;
      this.connected = true;
      this.resync("open");
    };
    source.onerror = () => {
      this.connected = false;
      this._emit("event", { kind: "disconnected", data: {} });
      if (source.readyState === EventSource.CLOSED) {
        // Refused (401 for an expired token, 429) or gone: reconnect ourselves, with a fresh token.
        this._source = null;
        this._reopen();
      }
    };
    source.addEventListener("resync", () => this.resync("resync"));
    for (const kind of KINDS) {
      source.addEventListener(kind, (message) => {
        let data = {};
        try {
          data = JSON.parse(message.data);
        } catch {
          return;
        }
        if (data.credit_type === this.creditType && data.payload && "available" in data.payload) {
          this._apply({ ...this.state, ...data.payload }, kind);
        }
        this._emit("event", { kind, data });
        if (kind === "plan_changed") this.balance().catch(() => {});
      });
    }
  }

  _reopen() {
    if (!this._live) return;
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this._attempt++) * (0.5 + Math.random() / 2);
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this._open(), delay);
  }

  _apply(row, kind) {
    if (!row || !("available" in row)) return;
    const previous = this.level;
    this.state = row;
    this.level = usedLevel(row);
    this._emit("change", { state: row, level: this.level, previousLevel: previous, kind });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// --- presentation ----------------------------------------------------------------------------------

const CSS = `
credits-counter, credits-gate, credits-history { font: inherit; }
.pc-counter { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem .75rem; }
.pc-count { font-weight: 600; }
.pc-button { font: inherit; min-height: 2.75rem; padding: .5rem 1rem; border-radius: .5rem; cursor: pointer;
  border: 1px solid var(--pc-accent, #4338ca); background: #fff; color: var(--pc-accent, #4338ca); }
.pc-button.pc-primary { background: var(--pc-accent, #4338ca); color: #fff; }
.pc-button:focus-visible, credits-gate :focus-visible { outline: 3px solid var(--pc-focus, #f59e0b); outline-offset: 2px; }
.pc-warning { flex-basis: 100%; margin: 0; padding: .5rem .75rem; border-radius: .5rem; border-left: 4px solid;
  background: #fffbeb; border-color: #d97706; color: #78350f; }
.pc-warning[data-level="100"] { background: #fef2f2; border-color: #dc2626; color: #7f1d1d; }
.pc-modal { width: min(28rem, calc(100vw - 2rem)); max-width: none; padding: 1.25rem; border: 0; border-radius: .75rem;
  box-shadow: 0 20px 50px rgba(0,0,0,.3); color: #111827; background: #fff; box-sizing: border-box; }
.pc-modal::backdrop { background: rgba(17,24,39,.55); }
.pc-modal h2 { margin: 0 0 .5rem; font-size: 1.25rem; }
.pc-modal p { margin: .5rem 0; line-height: 1.45; }
.pc-actions { display: flex; flex-wrap: wrap; gap: .5rem; justify-content: flex-end; margin-top: 1rem; }
.pc-scroll { overflow-x: auto; }
.pc-history { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
.pc-history caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
.pc-history th, .pc-history td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e5e7eb; white-space: nowrap; }
.pc-history td.pc-num, .pc-history th.pc-num { text-align: right; }
`;

function adoptStyles() {
  if (adoptStyles.done || !globalThis.document) return;
  adoptStyles.done = true;
  // A constructed sheet: no inline <style>, so a strict Content-Security-Policy (style-src 'self') allows it.
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}

const amount = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2, roundingMode: "trunc" });
const signed = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2, signDisplay: "exceptZero" });
const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const fmtDate = (text) => (text ? when.format(new Date(text)) : "");
let ids = 0;

function html(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child != null));
  return node;
}

/** "a month", "a week", "a day": the period's length as get_balance states it. */
function perPeriod(row) {
  if (!row || !row.period_start || !row.period_end) return "a period";
  const days = (new Date(row.period_end) - new Date(row.period_start)) / 86400000;
  if (days >= 27 && days <= 32) return "a month";
  if (days >= 364 && days <= 367) return "a year";
  if (days >= 6.9 && days <= 7.1) return "a week";
  if (days >= 0.95 && days <= 1.05) return "a day";
  return "a period";
}

const featureName = (code) => code.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

class CreditsElement extends HTMLElement {
  /** The client: set it on the element, else the first one createCredits() made. */
  get credits() {
    return this._client || defaultClient;
  }

  set credits(client) {
    this._client = client;
    if (this.isConnected) this._attach(client);
  }

  connectedCallback() {
    adoptStyles();
    if (!this._built) {
      this._built = true;
      this.build();
    }
    (this._client ? Promise.resolve(this._client) : clientReady).then((client) => this._attach(client));
  }

  disconnectedCallback() {
    this._detach();
  }

  _attach(client) {
    if (!this.isConnected || this._attached === client) return;
    this._detach();
    this._attached = client;
    const onChange = (event) => this.update(client, event.detail);
    const onFailed = (event) => this.failed(event.detail.error);
    client.addEventListener("change", onChange);
    client.addEventListener("failed", onFailed);
    this._detach = () => {
      client.removeEventListener("change", onChange);
      client.removeEventListener("failed", onFailed);
      this._attached = null;
      this._detach = () => {};
    };
    client.start();
    if (client.state) this.update(client, { state: client.state, level: client.level, previousLevel: client.level });
  }

  _detach() {}

  build() {}

  update() {}

  failed() {}

  /** Dispatches `credits-<name>` (bubbling); unless a listener cancels it, follows the `<name>-href` attribute. */
  act(name, detail, from = this) {
    const proceed = this.dispatchEvent(new CustomEvent(`credits-${name}`, { bubbles: true, composed: true, cancelable: true, detail }));
    const href = from.getAttribute(`${name}-href`) || this.getAttribute(`${name}-href`);
    if (proceed && href) globalThis.location.assign(href);
  }
}

/** <credits-counter>: "3/6 credits remaining", an Upgrade button, "Unlimited", and the 80/90/100 % warnings. */
class CreditsCounter extends CreditsElement {
  build() {
    const unit = this.getAttribute("unit") || "credits";
    this._count = html("span", { class: "pc-count", role: "status", "aria-live": "polite", "aria-atomic": "true",
      text: `Loading ${unit}…` });
    this._upgrade = html("button", { type: "button", class: "pc-button", text: this.getAttribute("upgrade-label") || "Upgrade" });
    this._upgrade.addEventListener("click", () => this.act("upgrade", { from: "counter", level: this.credits && this.credits.level }));
    this._warning = html("p", { class: "pc-warning", role: "alert", hidden: true });
    this.replaceChildren(html("div", { class: "pc-counter", role: "group", "aria-label": this.getAttribute("label") || "Credits" },
      this._count, this._upgrade, this._warning));
  }

  update(client, { state, level, previousLevel }) {
    const unit = this.getAttribute("unit") || "credits";
    if (state.unlimited) {
      this._count.textContent = "Unlimited";
      this._upgrade.hidden = true;
    } else {
      const granted = state.granted_this_period > 0 ? `/${amount.format(state.granted_this_period)}` : "";
      this._count.textContent = `${amount.format(Math.max(state.available, 0))}${granted} ${unit} remaining`;
      this._upgrade.hidden = false;
    }
    this.dataset.level = level;
    this._warning.hidden = !level;
    this._warning.dataset.level = level;
    if (level) {
      const left = level === 100 ? `You have used all of this period's ${unit}.`
        : `You have used ${level}% of this period's ${unit}: ${amount.format(state.available)} left.`;
      this._warning.textContent = `${left} The period ends ${fmtDate(state.next_reset_at)}.`;
    }
    if (level > (previousLevel || 0)) {
      this.dispatchEvent(new CustomEvent("credits-threshold", { bubbles: true, composed: true, detail: { level, state } }));
    }
  }

  failed(error) {
    if (!this.credits || !this.credits.state) {
      this._count.textContent = "Credits unavailable";
      this._count.title = error.message;
    }
  }
}

/** <credits-gate feature="..." [units='{"seconds": 8}'] [deduct] [label]>: a button that checks first. */
class CreditsGate extends CreditsElement {
  build() {
    this.addEventListener("click", (event) => this._click(event), true);
  }

  get feature() {
    return this.getAttribute("feature") || "";
  }

  get label() {
    return this.getAttribute("label") || featureName(this.feature);
  }

  async _click(event) {
    if (this._passing) return;
    const trigger = event.target.closest("button, a, input, [role=button]");
    if (!trigger || !this.contains(trigger) || trigger.closest(".pc-modal")) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (this._busy) return;
    this._busy = true;
    this.setAttribute("aria-busy", "true");
    const credits = this.credits;
    try {
      if (!credits) throw new Error("no pgcredits client: call createCredits() first");
      const units = JSON.parse(this.getAttribute("units") || "{}");
      const check = await credits.check(this.feature, units);
      let reason = check.allowed ? null : check.reason;
      let charge = null;
      if (!reason && this.hasAttribute("deduct")) {
        charge = await credits.deduct(this.feature, units);
        if (!charge.ok) reason = charge.reason;
      }
      if (reason) return await this._refuse(credits, reason, check, trigger);
      this.dispatchEvent(new CustomEvent("credits-allowed", { bubbles: true, composed: true, detail: { feature: this.feature, check, charge } }));
      this._passing = true;
      try {
        trigger.click(); // the app's own handler runs: the feature was allowed
      } finally {
        this._passing = false;
      }
    } catch (error) {
      this._modal(trigger, "error", "Something went wrong", [`Could not check ${this.label}: ${error.message}`], []);
    } finally {
      this._busy = false;
      this.removeAttribute("aria-busy");
    }
  }

  async _refuse(credits, reason, check, trigger) {
    const quota = await credits.quotas().then((rows) => rows.find((row) => row.feature === this.feature), () => null);
    const state = credits.state || {};
    const name = this.label;
    const reset = quota && quota.next_reset_at;
    const detail = { feature: this.feature, reason, check, quota };
    this.dispatchEvent(new CustomEvent("credits-refused", { bubbles: true, composed: true, detail }));
    const upgrade = { label: "Upgrade plan", name: "upgrade", detail };
    const buy = { label: "Buy credits", name: "purchase", detail, primary: true };
    if (reason === "insufficient_credits") {
      return this._modal(trigger, reason, "Not enough credits", [
        `${name} costs ${amount.format(check.cost)} ${check.cost === 1 ? "credit" : "credits"} and you have ${amount.format(check.available)}.`,
        reset && `This period ends ${fmtDate(reset)}.`,
        "Buy a pack of credits to go on now."], [buy, upgrade]);
    }
    if (reason === "period_limit_reached") {
      const limit = quota && quota.period_limit != null ? quota.period_limit : null;
      return this._modal(trigger, reason, "Limit reached for this period", [
        limit != null ? `${name}: ${limit} ${perPeriod(state)} on your plan, and you have used all ${limit}.`
          : `You have used every ${name} your plan includes this period.`,
        reset && `You can use it again from ${fmtDate(reset)}.`], [{ ...upgrade, primary: true }]);
    }
    if (reason === "feature_not_in_plan") {
      return this._modal(trigger, reason, "Not in your plan", [
        `${name} is not included in your plan${state.plan ? ` (${state.plan})` : ""}.`,
        "Upgrade to a plan that includes it."], [{ ...upgrade, primary: true }]);
    }
    return this._modal(trigger, reason, "Account not active", [`${name} is not available: your account is not active.`], []);
  }

  /** The accessible modal: labelled, focus kept inside (Tab and Shift+Tab wrap), Escape closes, focus returns. */
  _modal(trigger, reason, title, lines, actions) {
    const n = ++ids;
    const close = html("button", { type: "button", class: "pc-button", text: "Close" });
    const buttons = actions.map((action) => {
      const button = html("button", { type: "button", class: `pc-button${action.primary ? " pc-primary" : ""}`, text: action.label });
      button.addEventListener("click", () => {
        finish();
        this.act(action.name, action.detail);
      });
      return button;
    });
    const dialog = html("dialog", { class: "pc-modal", role: "dialog", "aria-modal": "true",
      "aria-labelledby": `pc-title-${n}`, "aria-describedby": `pc-text-${n}`, "data-reason": reason },
      html("h2", { id: `pc-title-${n}`, text: title }),
      html("div", { id: `pc-text-${n}` }, ...lines.filter(Boolean).map((line) => html("p", { text: line }))),
      html("div", { class: "pc-actions" }, ...buttons, close));
    const finish = () => {
      if (!dialog.isConnected) return;
      dialog.close();
      dialog.remove();
      if (trigger.isConnected) trigger.focus();
    };
    close.addEventListener("click", finish);
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish();
    });
    dialog.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        finish();
      } else if (event.key === "Tab") {
        const focusable = [...dialog.querySelectorAll("button, [href], input, select, textarea, [tabindex]")]
          .filter((node) => !node.disabled && node.tabIndex >= 0);
        const first = focusable[0];
        const last = focusable[focusable.length - 1];
        if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && document.activeElement === last) {
          event.preventDefault();
          first.focus();
        }
      }
    });
    this.append(dialog);
    dialog.showModal();
    (buttons[0] || close).focus();
    return dialog;
  }
}

/** <credits-history [page-size="10"]>: the account's latest ledger rows, refreshed as the balance moves. */
class CreditsHistory extends CreditsElement {
  build() {
    this._body = html("tbody");
    const th = (text, num) => html("th", { scope: "col", class: num ? "pc-num" : null, text });
    this._table = html("table", { class: "pc-history" },
      html("caption", { text: this.getAttribute("label") || "Recent credit activity" }),
      html("thead", {}, html("tr", {}, th("When"), th("What"), th("Credits", true), th("Balance", true))),
      this._body);
    this.replaceChildren(html("div", { class: "pc-scroll", tabindex: "0", role: "region", "aria-label": "Credit history" }, this._table));
  }

  update(client) {
    clearTimeout(this._pending);
    this._pending = setTimeout(() => this._load(client), 150); // one read for a burst of events
  }

  async _load(client) {
    const size = Number(this.getAttribute("page-size")) || 10;
    const rows = (await client.history({ pageSize: size }).catch(() => [])).filter((row) => row.credit_type === client.creditType);
    this._body.replaceChildren(...rows.map((row) => html("tr", { "data-kind": row.kind },
      html("td", { text: fmtDate(row.created_at) }),
      html("td", { text: row.feature ? featureName(row.feature) : featureName(row.kind) }),
      html("td", { class: "pc-num", text: signed.format(row.amount) }),
      html("td", { class: "pc-num", text: amount.format(row.available_after) }))));
  }
}

for (const [name, element] of [["credits-counter", CreditsCounter], ["credits-gate", CreditsGate], ["credits-history", CreditsHistory]]) {
  if (globalThis.customElements && !customElements.get(name)) customElements.define(name, element);
}
