// PlanSearch (规划检索) browser code: copying quotations, the quote basket, exports,
// the marked passage in the reader. Loaded on every page; the pages work without it
// (except the basket, which lives in localStorage). No inline scripts: the CSP forbids them.
"use strict";

(function () {
  const BASKET_KEY = "plansearch.basket";

  // -- small helpers ---------------------------------------------------------------------
  function toast(message) {
    const box = document.querySelector("[data-toast]");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 2500);
  }

  /** A quotation in the standard form: “……”（《标题》章 › 节）. */
  function formatQuote(text, citation) {
    return "“" + text.trim() + "”（" + citation + "）";
  }

  function today() {
    return new Date().toISOString().slice(0, 10);
  }

  /** Copy text; navigator.clipboard needs a secure context, so plain-HTTP use falls back
   *  to a hidden textarea and execCommand("copy"). Resolves to true when copied. */
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (err) {
        // Permission refused: try the fallback below.
      }
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "clipboard-fallback";
    document.body.appendChild(area);
    area.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (err) {
      copied = false;
    }
    area.remove();
    return copied;
  }

  function download(filename, blob) {
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // -- quotable passages: elements with data-quote, data-text, data-citation, data-url ----
  /** The quote of a passage element: the user's selection when it lies inside the
   *  passage's text (and useSelection), else the whole passage. */
  function quoteOf(element, useSelection = true) {
    const container = element.querySelector("[data-quote-text]") || element;
    const item = {
      id: element.dataset.id || "",
      text: element.dataset.text || container.textContent.trim(),
      citation: element.dataset.citation || "",
      url: element.dataset.url || "",
    };
    const selection = window.getSelection();
    if (useSelection && selection && selection.rangeCount && !selection.isCollapsed) {
      const range = selection.getRangeAt(0);
      const selected = selection.toString().trim();
      if (selected && container.contains(range.startContainer) && container.contains(range.endContainer)) {
        item.text = selected;
      }
    }
    return item;
  }

  // -- the basket (localStorage) ----------------------------------------------------------
  function loadBasket() {
    try {
      const items = JSON.parse(localStorage.getItem(BASKET_KEY) || "[]");
      const valid = (q) => q && typeof q.text === "string" && typeof q.citation === "string";
      return Array.isArray(items) ? items.filter(valid) : [];
    } catch (err) {
      return [];
    }
  }

  function saveBasket(items) {
    try {
      localStorage.setItem(BASKET_KEY, JSON.stringify(items));
    } catch (err) {
      toast("无法保存引文篮：浏览器禁止了本地存储");
      return false;
    }
    renderBasket();
    return true;
  }

  function addToBasket(item) {
    const items = loadBasket();
    if (items.some((q) => q.id === item.id && q.text === item.text)) {
      toast("这段引文已在引文篮中");
      return;
    }
    items.push({ ...item, added: new Date().toISOString() });
    if (saveBasket(items)) toast("已加入引文篮（共 " + items.length + " 条）");
  }

  /** The header counter, and the basket page's list when on that page. */
  function renderBasket() {
    const items = loadBasket();
    document.querySelectorAll("[data-basket-count]").forEach((el) => { el.textContent = String(items.length); });
    const list = document.querySelector("[data-basket-list]");
    if (!list) return;
    list.replaceChildren(...items.map(basketEntry));
    const empty = document.querySelector("[data-basket-empty]");
    if (empty) empty.hidden = items.length > 0;
    document.querySelectorAll("[data-basket-page] [data-export], [data-clear-basket]").forEach((b) => {
      b.disabled = items.length === 0;
    });
  }

  function basketEntry(item, index) {
    const li = document.createElement("li");
    li.className = "basket-item";
    Object.assign(li.dataset, { quote: "", id: item.id, text: item.text, citation: item.citation, url: item.url });
    const quote = document.createElement("blockquote");
    quote.dataset.quoteText = "";
    quote.textContent = item.text;
    const cite = document.createElement("p");
    cite.className = "citation";
    const link = document.createElement("a");
    link.href = item.url;
    link.textContent = item.citation;
    cite.appendChild(link);
    const actions = document.createElement("div");
    actions.className = "quote-actions";
    actions.append(button("复制引文", { copyQuote: "" }), button("移除", { removeQuote: String(index) }));
    li.append(quote, cite, actions);
    return li;
  }

  function button(label, data) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    Object.assign(b.dataset, data);
    return b;
  }

  // -- exports ----------------------------------------------------------------------------
  function exportItems(source) {
    if (source === "basket") return loadBasket();
    return Array.from(document.querySelectorAll("main [data-quote]")).map((el) => quoteOf(el, false));
  }

  function markdown(items) {
    const lines = ["# 引文（规划检索导出，" + today() + "）", ""];
    items.forEach((item) => {
      const quoted = ("“" + item.text.trim() + "”").split("\n").map((l) => "> " + l);
      lines.push(...quoted, ">", "> " + item.citation);
      if (item.url) lines.push(">", "> 原文：<" + new URL(item.url, location.href).href + ">");
      lines.push("");
    });
    return lines.join("\n");
  }

  async function exportDocx(items) {
    const response = await fetch("/api/export.docx", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ quotes: items.map((q) => ({ text: q.text, citation: q.citation })) }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error(body && body.error ? body.error.message : "HTTP " + response.status);
    }
    download("引文-" + today() + ".docx", await response.blob());
  }

  async function runExport(trigger) {
    const items = exportItems(trigger.dataset.exportFrom);
    if (!items.length) {
      toast("没有可导出的引文");
      return;
    }
    if (trigger.dataset.export === "markdown") {
      download("引文-" + today() + ".md", new Blob([markdown(items)], { type: "text/markdown;charset=utf-8" }));
      return;
    }
    trigger.disabled = true;
    try {
      await exportDocx(items);
    } catch (err) {
      toast("导出失败：" + err.message);
    } finally {
      trigger.disabled = false;
    }
  }

  // -- clicks (one delegated listener) ------------------------------------------------------
  async function onClick(event) {
    const target = event.target.closest("button");
    if (!target) return;
    const passage = target.closest("[data-quote]");
    if ("copyQuote" in target.dataset && passage) {
      const item = quoteOf(passage);
      toast(await copyText(formatQuote(item.text, item.citation)) ? "已复制引文" : "复制失败，请手动选择文字复制");
    } else if ("copyText" in target.dataset) {
      toast(await copyText(target.dataset.copyText) ? "已复制" : "复制失败，请手动选择文字复制");
    } else if ("addQuote" in target.dataset && passage) {
      addToBasket(quoteOf(passage));
    } else if ("removeQuote" in target.dataset) {
      const items = loadBasket();
      items.splice(Number(target.dataset.removeQuote), 1);
      saveBasket(items);
    } else if ("clearBasket" in target.dataset) {
      if (window.confirm("清空引文篮中的全部引文？")) saveBasket([]);
    } else if ("export" in target.dataset) {
      runExport(target);
    }
  }

  // -- the reader: mark and show the passage named by the URL fragment ----------------------
  function markTarget() {
    document.querySelectorAll(".is-target").forEach((el) => el.classList.remove("is-target"));
    const id = decodeURIComponent(location.hash.slice(1));
    const element = id && document.getElementById(id);
    if (!element) return;
    element.classList.add("is-target");
    element.scrollIntoView({ block: "center" });
  }

  // -- the search form: a new mode or filter searches again at once -------------------------
  function autoSubmit(event) {
    const form = event.target.closest("[data-search-form]");
    if (form && form.elements.q.value.trim() && event.target.matches("input[type=radio], select")) {
      form.requestSubmit();
    }
  }

  // The outline starts closed (on a phone it would push the text down); beside the text it is open.
  function openOutline() {
    const toc = document.querySelector("[data-toc]");
    if (toc && window.matchMedia("(min-width: 1100px)").matches) toc.open = true;
  }

  // Filters left at "all" stay out of the URL: /search?q=…&mode=… rather than …&district=&doc=.
  function dropEmptyFilters(event) {
    if (!event.target.matches("[data-search-form]")) return;
    event.target.querySelectorAll("select").forEach((select) => { select.disabled = !select.value; });
    // Re-enable them for when the user comes back to this page (bfcache).
    setTimeout(() => event.target.querySelectorAll("select").forEach((select) => { select.disabled = false; }));
  }

  function countCharacters() {
    const area = document.querySelector("[data-char-limit]");
    const out = document.querySelector("[data-char-count]");
    if (!area || !out) return;
    const update = () => { out.textContent = "，已输入 " + area.value.length.toLocaleString() + " 字"; };
    area.addEventListener("input", update);
    update();
  }

  // Pressing a quote button must not move the focus or drop the user's text selection.
  document.addEventListener("mousedown", (event) => {
    if (event.target.closest("[data-copy-quote], [data-add-quote]")) event.preventDefault();
  });
  document.addEventListener("click", onClick);
  document.addEventListener("change", autoSubmit);
  document.addEventListener("submit", dropEmptyFilters);
  window.addEventListener("hashchange", markTarget);
  window.addEventListener("storage", (event) => { if (event.key === BASKET_KEY) renderBasket(); });
  renderBasket();
  openOutline();
  markTarget();
  countCharacters();
})();
