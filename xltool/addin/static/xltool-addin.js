/*
 * xltool 检查本表 — the Office.js client of the xltool add-in server.
 *
 * xlwings 0.37.8 ships no Office.js client (its package holds the Google Apps Script and
 * Office Scripts clients only; the Office.js one belongs to xlwings Server). This file
 * speaks the same protocol for the one script xltool offers:
 *
 *   1. read the workbook into the payload xlwings' remote engine reads (`xw.Book(json=...)`):
 *      client, version, book {name, active_sheet_index, selection}, names, and per sheet
 *      {name, visibility, values from A1 to the last used cell, pictures, tables, notes};
 *      date-formatted numbers become ISO strings as in xlwings' own clients (ExcelApi 1.12);
 *   2. POST it to /xlwings/custom-scripts-call/check_workbook;
 *   3. replay the answer's actions (setRangeColor, addNote, deleteNote, setValues,
 *      rangeClearContents, alert) and show the answer's "xltool" summary in the task pane.
 *
 * The workbook stays protected: the actions only format cells, edit notes and write the
 * unlocked result area of the 审核 sheet.
 */
(function () {
  "use strict";

  const TEXT = JSON.parse(document.getElementById("xltool-text").textContent);
  const CONFIG = JSON.parse(document.getElementById("xltool-config").textContent);

  function el(id) {
    return document.getElementById(id);
  }

  function setStatus(text, kind) {
    const status = el("status");
    status.textContent = text;
    status.className = kind || "";
  }

  function clearList() {
    el("notices").replaceChildren();
    el("findings").replaceChildren();
  }

  function addNotice(text) {
    const li = document.createElement("li");
    li.textContent = text;
    el("notices").appendChild(li);
  }

  // -- payload -------------------------------------------------------------------

  async function buildPayload(context) {
    const workbook = context.workbook;
    workbook.load("name");
    const worksheets = workbook.worksheets;
    worksheets.load("items/name,items/position,items/visibility");
    const active = worksheets.getActiveWorksheet();
    active.load("position");
    await context.sync();

    let selection = null;
    try {
      const range = workbook.getSelectedRange();
      range.load("address");
      await context.sync();
      selection = range.address.split("!").pop();
    } catch (error) {
      selection = null; // a chart or shape is selected
    }

    const dates = Office.context.requirements.isSetSupported("ExcelApi", "1.12");
    const notes = Office.context.requirements.isSetSupported("ExcelApi", "1.18");
    const items = worksheets.items.map((sheet) => {
      const used = sheet.getUsedRangeOrNullObject(true);
      used.load("rowIndex,columnIndex,rowCount,columnCount");
      const item = { sheet: sheet, used: used, range: null, notes: null, locations: null };
      if (notes) {
        item.notes = sheet.notes;
        item.notes.load("items");
      }
      return item;
    });
    await context.sync();

    for (const item of items) {
      if (!item.used.isNullObject) {
        const rows = item.used.rowIndex + item.used.rowCount;
        const columns = item.used.columnIndex + item.used.columnCount;
        item.range = item.sheet.getRangeByIndexes(0, 0, rows, columns);
        item.range.load(dates ? "values,numberFormatCategories" : "values");
      }
      if (item.notes) {
        item.locations = item.notes.items.map((note) => {
          const location = note.getLocation();
          location.load("address");
          return location;
        });
      }
    }
    await context.sync();

    const sheets = items.map((item) => {
      let values = [[]];
      if (item.range) {
        values = item.range.values;
        if (dates) {
          const categories = item.range.numberFormatCategories;
          values.forEach((row, r) => {
            row.forEach((value, c) => {
              const category = String(categories[r][c]);
              if ((category === "Date" || category === "Time") && typeof value === "number") {
                row[c] = new Date(Math.round((value - 25569) * 86400 * 1000)).toISOString();
              }
            });
          });
        }
      }
      const entry = {
        name: item.sheet.name,
        visibility: item.sheet.visibility,
        values: values,
        pictures: [],
        tables: [],
      };
      if (item.locations) {
        entry.notes = item.locations.map((location) => ({ address: location.address.split("!").pop() }));
      } else {
        entry.notes_supported = false;
      }
      return entry;
    });

    return {
      payload: {
        client: "Office.js",
        version: CONFIG.xlwingsVersion,
        xltool_pane: true, // this pane shows the summary: no alert action needed
        book: { name: workbook.name, active_sheet_index: active.position, selection: selection },
        names: [],
        sheets: sheets,
      },
      worksheets: worksheets.items,
    };
  }

  // -- actions -------------------------------------------------------------------

  function rangeOf(worksheets, action) {
    return worksheets[action.sheet_position].getRangeByIndexes(
      action.start_row, action.start_column, action.row_count, action.column_count);
  }

  const NOTE_ACTIONS = { addNote: true, deleteNote: true };

  const handlers = {
    setRangeColor(worksheets, action) {
      const fill = rangeOf(worksheets, action).format.fill;
      if (action.args[0]) {
        fill.color = action.args[0];
      } else {
        fill.clear();
      }
    },
    setValues(worksheets, action) {
      rangeOf(worksheets, action).values = action.values;
    },
    rangeClearContents(worksheets, action) {
      rangeOf(worksheets, action).clear(Excel.ClearApplyTo.contents);
    },
    addNote(worksheets, action) {
      const sheet = worksheets[action.sheet_position];
      sheet.notes.add(sheet.getRange(action.args[0]), action.args[1]);
    },
    deleteNote(worksheets, action) {
      const sheet = worksheets[action.sheet_position];
      sheet.notes.getItem(String(action.args[0]).replace(/\$/g, "")).delete();
    },
    alert(worksheets, action, stats) {
      stats.alerts.push(String(action.args[0]));
    },
    activateSheet(worksheets, action) {
      worksheets[Number(action.args[0])].activate();
    },
  };

  async function runActions(context, worksheets, actions) {
    const stats = { noteFailures: 0, alerts: [] };
    for (const action of actions) {
      const handler = handlers[action.func];
      if (!handler) {
        throw new Error(TEXT.unknownAction.replace("{name}", action.func));
      }
      if (NOTE_ACTIONS[action.func]) {
        // A note may fail on its own (old Excel, a protected object): count it, go on.
        await context.sync();
        handler(worksheets, action, stats);
        try {
          await context.sync();
        } catch (error) {
          stats.noteFailures += 1;
        }
      } else {
        handler(worksheets, action, stats);
      }
    }
    await context.sync();
    return stats;
  }

  // -- the task pane -------------------------------------------------------------

  function render(summary, stats) {
    clearList();
    if (!summary) {
      setStatus(TEXT.noSummary, "bad");
      return;
    }
    const clean = summary.status === "ok" && !summary.errors && !summary.warnings;
    setStatus(summary.message, summary.status !== "ok" || summary.errors ? "bad" : clean ? "ok" : "");
    for (const notice of summary.notices || []) {
      addNotice(notice);
    }
    if (stats.noteFailures) {
      addNotice(TEXT.noteFailures.replace("{n}", String(stats.noteFailures)));
    }
    for (const message of stats.alerts) {
      addNotice(message);
    }
    for (const finding of summary.findings || []) {
      const li = document.createElement("li");
      const level = document.createElement("span");
      level.className = "level-" + finding.severity;
      level.textContent = finding.level + " " + finding.code;
      const cells = document.createElement("div");
      cells.className = "cells";
      cells.textContent = (finding.cells || []).join("、");
      const message = document.createElement("div");
      message.textContent = finding.message + (finding.fix ? " " + finding.fix : "");
      li.append(level, cells, message);
      el("findings").appendChild(li);
    }
    if (summary.more) {
      addNotice(TEXT.more.replace("{n}", String(summary.more)));
    }
  }

  function detailOf(text) {
    try {
      const data = JSON.parse(text);
      return typeof data.detail === "string" ? data.detail : text;
    } catch (error) {
      return text;
    }
  }

  let running = false;

  async function checkWorkbook() {
    if (running) {
      return;
    }
    running = true;
    const button = el("xltool-check");
    button.disabled = true;
    clearList();
    setStatus(TEXT.checking, "");
    try {
      await Excel.run(async (context) => {
        const { payload, worksheets } = await buildPayload(context);
        const response = await fetch(CONFIG.scriptUrl, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(payload),
        });
        const text = await response.text();
        if (!response.ok) {
          throw new Error(detailOf(text) || response.statusText);
        }
        const data = JSON.parse(text);
        const stats = await runActions(context, worksheets, data.actions || []);
        render(data.xltool, stats);
      });
    } catch (error) {
      clearList();
      setStatus(TEXT.failed.replace("{error}", error && error.message ? error.message : String(error)), "bad");
    } finally {
      button.disabled = false;
      running = false;
    }
  }

  if (typeof Office === "undefined") {
    setStatus(TEXT.noOffice, "bad"); // opened in a browser, or office.js could not be loaded
    return;
  }

  Office.onReady(() => {
    el("xltool-check").addEventListener("click", checkWorkbook);
  });

  // The ribbon button 检查本表 runs in the same (shared) runtime as this page.
  if (Office.actions) {
    Office.actions.associate("checkWorkbook", async (event) => {
      await checkWorkbook();
      try {
        await Office.addin.showAsTaskpane();
      } catch (error) {
        // The task pane cannot be shown (older Excel): the marks are in the workbook anyway.
      }
      event.completed();
    });
  }
})();
