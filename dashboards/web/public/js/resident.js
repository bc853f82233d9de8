// The residents' public form at /r/<sensor>: no sign-in, no ticket data. It says which asset
// this is, lets the resident pick what they see from a fixed list, add a photo and a phone
// number (both optional), and posts it to /api/v1/public/reports/<sensor>.

import { api } from "./api.js";
import { h, mount } from "./dom.js";

const LANG_KEY = "gridwatch.lang";
const TEXT = {
  zh: {
    title: "报告设施问题", intro: "您在这里看到了什么？社区网格员会收到您的报告。",
    at: "位置", what: "您看到的情况", photo: "照片（可选）", phone: "电话（可选，仅网格员可见）",
    send: "提交报告", sending: "正在提交…", thanks: "谢谢！您的报告已收到，编号 {ref}。",
    pick: "请选择一项。", too_many: "提交太频繁，请稍后再试（{s} 秒）。", unknown: "找不到这个设施。",
    failed: "提交失败：{msg}", switch: "English", privacy: "我们不会公开您的电话号码。",
  },
  en: {
    title: "Report a problem", intro: "What do you see here? The community's crew gets your report.",
    at: "Where", what: "What you see", photo: "Photo (optional)", phone: "Phone (optional, only the crew sees it)",
    send: "Send report", sending: "Sending…", thanks: "Thank you! Your report was received: {ref}.",
    pick: "Please choose one.", too_many: "Too many reports: please try again later ({s} s).", unknown: "This asset is not known.",
    failed: "Could not send: {msg}", switch: "中文", privacy: "Your phone number is never made public.",
  },
};

let lang = localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh";
const t = (k, vars = {}) => TEXT[lang][k].replace(/\{(\w+)\}/g, (_, v) => vars[v] ?? "");
const root = document.getElementById("resident");
const sensor = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
let info = null;
let done = null;

async function sendReport(form, result, button) {
  const data = new FormData(form);
  if (!data.get("what")) {
    result.textContent = t("pick");
    result.className = "result error";
    return;
  }
  const file = data.get("file");
  if (file && !file.size) data.delete("file");
  button.disabled = true;
  result.className = "result";
  result.textContent = t("sending");
  try {
    const r = await api(`/public/reports/${encodeURIComponent(sensor)}`, { method: "POST", form: data, token: "" });
    done = r.reference;
    draw();
  } catch (e) {
    button.disabled = false;
    result.className = "result error";
    result.textContent = e.status === 429 ? t("too_many", { s: (e.message.match(/(\d+) s/) ?? [])[1] ?? "" }) : t("failed", { msg: e.message });
  }
}

function draw() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  const sw = h("button.lang.link", { type: "button", onclick: () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem(LANG_KEY, lang); draw(); } }, t("switch"));
  if (!info) {
    mount(root, h("section.resident-form", {}, sw, h("h1", {}, t("title")), h("p.error", {}, t("unknown"))));
    return;
  }
  if (done) {
    mount(root, h("section.resident-form", {}, sw, h("h1", {}, t("title")), h("p.thanks", { role: "status" }, t("thanks", { ref: done }))));
    return;
  }
  const result = h("p.result", { role: "status", "aria-live": "polite" });
  const button = h("button.submit.big", { type: "submit" }, t("send"));
  const form = h("form.report", { onsubmit: (e) => { e.preventDefault(); sendReport(form, result, button); } },
    h("fieldset.choices", {}, h("legend", {}, t("what")),
      info.choices.map((c) => h("label.choice", {}, h("input", { type: "radio", name: "what", value: c.id }), h("span", {}, c[lang])))),
    h("label.field", {}, h("span", {}, t("photo")), h("input", { type: "file", name: "file", accept: "image/jpeg,image/png,image/webp", capture: "environment" })),
    h("label.field", {}, h("span", {}, t("phone")), h("input", { type: "tel", name: "phone", inputmode: "tel", maxlength: 20, autocomplete: "tel" })),
    h("p.muted.small", {}, t("privacy")),
    button, result);
  mount(root, h("section.resident-form", {}, sw, h("h1", {}, t("title")), h("p.muted", {}, t("intro")),
    h("p.asset", {}, h("strong", {}, `${t("at")}: `), `${info.community} · ${info.asset}`, h("span.muted.small", {}, ` (${info.id})`)), form));
}

async function start() {
  try {
    info = await api(`/public/sensors/${encodeURIComponent(sensor)}`, { token: "" });
  } catch {
    info = null;
  }
  draw();
}
start();
