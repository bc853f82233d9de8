// The page shell: login with a token, the header (views, live state, language, log out), and a
// hash router (#/queue, #/ticket/ID, #/map, #/trends?sensor=…). Views are functions
// render(root, ctx) returning {onEvent?, destroy?}; a language switch re-renders the view.

import { api, ApiError, getToken, onUnauthorised, setToken } from "./api.js";
import { h, mount } from "./dom.js";
import { getLang, onLangChange, setLang, t } from "./i18n.js";
import { connectLive } from "./live.js";
import { renderMap } from "./map.js";
import { renderQueue } from "./queue.js";
import { forget, loadCatalog } from "./site.js";
import { renderTicket } from "./ticket.js";
import { renderTrends } from "./trends.js";

const app = document.getElementById("app");
let view = null;
let stopLive = null;
let liveUp = false;

const go = (hash) => {
  if (location.hash === hash) route();
  else location.hash = hash;
};

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/queue";
  const [path, qs] = raw.split("?");
  return { parts: path.split("/").filter(Boolean), params: new URLSearchParams(qs ?? "") };
}

function header() {
  const { parts } = parseHash();
  const link = (name) => h(`a.nav-${name}`, { href: `#/${name}`, class: parts[0] === name || (name === "queue" && parts[0] === "ticket") ? "active" : null }, t(`nav.${name}`));
  return h("header.top", {},
    h("span.brand", {}, t("app.title")),
    h("nav", {}, link("queue"), link("map"), link("trends")),
    h("span.spacer"),
    h(`span.live.${liveUp ? "up" : "down"}`, { title: t(liveUp ? "live.on" : "live.off"), "data-live": liveUp ? "up" : "down" }, "●"),
    h("button.lang", { type: "button", onclick: () => setLang(getLang() === "zh" ? "en" : "zh") }, t("lang.switch")),
    h("button.logout", { type: "button", onclick: logout }, t("logout")));
}

const toasts = h("div.toasts", { role: "status", "aria-live": "polite" });

function toast(text) {
  const el = h("div.toast", {}, text);
  toasts.append(el);
  setTimeout(() => el.remove(), 6000);
}

function route() {
  if (!getToken()) return showLogin();
  view?.destroy?.();
  const main = h("main");
  mount(app, header(), main, toasts);
  const { parts, params } = parseHash();
  const ctx = { go, params };
  document.title = t("app.title");
  if (parts[0] === "ticket" && parts[1]) view = renderTicket(main, { ...ctx, id: parts[1] });
  else if (parts[0] === "map") view = renderMap(main, ctx);
  else if (parts[0] === "trends") view = renderTrends(main, ctx);
  else view = renderQueue(main, ctx);
}

function startLive() {
  stopLive?.();
  stopLive = connectLive(getToken(), {
    onState: (up) => {
      liveUp = up;
      const dot = app.querySelector(".live");
      if (dot) {
        dot.className = `live ${up ? "up" : "down"}`;
        dot.dataset.live = up ? "up" : "down";
        dot.title = t(up ? "live.on" : "live.off");
      }
    },
    onEvent: (ev) => {
      const id = ev.ticket_id ?? ev.ticket?.id;
      const kind = ev.event ?? ev.kind ?? ev.type ?? "";
      if (id != null) {
        const key = `event.${kind}`;
        toast(t("toast.ticket", { id, what: t(key) === key ? kind : t(key) }));
      }
      view?.onEvent?.(ev);
    },
  });
}

function showLogin(message = "") {
  view?.destroy?.();
  view = null;
  stopLive?.();
  stopLive = null;
  const input = h("input#token", { type: "password", name: "token", autocomplete: "current-password", required: true, "aria-label": t("login.token") });
  const err = h("p.error.login-error", { role: "alert" }, message);
  mount(app,
    h("div.login-wrap", {},
      h("form.login", {
        onsubmit: async (e) => {
          e.preventDefault();
          const token = input.value.trim();
          err.textContent = "";
          try {
            await api("/sensors", { token });
          } catch (ex) {
            err.textContent = ex instanceof ApiError && (ex.status === 401 || ex.status === 403) ? t("login.bad") : t("login.offline");
            return;
          }
          setToken(token);
          forget();
          startLive();
          go(location.hash && location.hash !== "#/login" ? location.hash : "#/queue");
        },
      },
        h("h1", {}, t("app.title")),
        h("h2", {}, t("login.title")),
        h("p.muted", {}, t("login.hint")),
        h("label", { for: "token" }, t("login.token")),
        input,
        h("button.submit", { type: "submit" }, t("login.submit")),
        err,
        h("button.lang.link", { type: "button", onclick: () => setLang(getLang() === "zh" ? "en" : "zh") }, t("lang.switch")))));
  input.focus();
}

function logout() {
  setToken("");
  forget();
  showLogin();
}

onUnauthorised(() => {
  setToken("");
  showLogin(t("login.bad"));
});
onLangChange(() => (getToken() ? route() : showLogin()));
window.addEventListener("hashchange", route);

loadCatalog();
if (getToken()) startLive();
route();
