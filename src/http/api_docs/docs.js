// Renders the OpenAPI document this server serves (openapi.json, fetched
// from the same origin with the browser's credentials): endpoints grouped
// by API family, with their roles, parameters, request bodies and
// responses. Text is only ever set as text, never parsed as HTML.
"use strict";

(function () {
  var METHODS = ["get", "post", "put", "patch", "delete"];

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function slug(text) {
    return "family-" + String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-");
  }

  // A schema in a line: its $ref name, type, format, enum or properties.
  function describe(schema, doc) {
    if (!schema) return "";
    if (schema.$ref) return schema.$ref.replace("#/components/schemas/", "");
    if (schema.oneOf) return schema.oneOf.map(function (s) { return describe(s, doc); }).join(" or ");
    var text = schema.type || "";
    if (schema.format) text += " (" + schema.format + ")";
    if (schema.description) text += (text ? ": " : "") + schema.description;
    if (schema.enum) text += (text ? ", " : "") + "one of " + schema.enum.length;
    return text || "any";
  }

  function enumList(schema) {
    var values = schema && schema.enum;
    if (!values) return null;
    var list = el("code", "enum", values.join(", "));
    return list;
  }

  function resolve(schema, doc) {
    if (schema && schema.$ref) {
      var name = schema.$ref.replace("#/components/schemas/", "");
      var schemas = (doc.components && doc.components.schemas) || {};
      return schemas[name] || schema;
    }
    return schema;
  }

  function table(headings, rows) {
    var t = el("table");
    var head = el("tr");
    headings.forEach(function (h) { head.appendChild(el("th", null, h)); });
    t.appendChild(head);
    rows.forEach(function (cells) {
      var tr = el("tr");
      cells.forEach(function (cell) {
        var td = el("td");
        if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell;
        tr.appendChild(td);
      });
      t.appendChild(tr);
    });
    return t;
  }

  function parameters(op) {
    var rows = (op.parameters || []).map(function (p) {
      var cell = el("div", null, describe(p.schema));
      var values = enumList(p.schema);
      if (values) cell.appendChild(values);
      return [el("code", null, p.name), p["in"], p.required ? "required" : "optional", cell];
    });
    return rows.length ? table(["name", "in", "", "schema"], rows) : null;
  }

  function requestBody(op, doc) {
    var content = op.requestBody && op.requestBody.content;
    if (!content) return null;
    var box = el("div");
    Object.keys(content).forEach(function (type) {
      var schema = content[type].schema;
      var line = el("p");
      line.appendChild(el("code", null, type));
      line.appendChild(document.createTextNode(" " + describe(schema, doc)));
      box.appendChild(line);
      var resolved = resolve(schema, doc);
      var props = resolved && resolved.properties;
      if (props) {
        var required = resolved.required || [];
        box.appendChild(table(["field", "", "schema"], Object.keys(props).map(function (name) {
          var cell = el("div", null, describe(props[name], doc));
          var values = enumList(props[name]);
          if (values) cell.appendChild(values);
          return [el("code", null, name), required.indexOf(name) >= 0 ? "required" : "optional", cell];
        })));
      }
    });
    return box;
  }

  function responses(op) {
    var all = op.responses || {};
    return table(["status", "meaning"], Object.keys(all).sort().map(function (status) {
      return [el("code", null, status), all[status].description || ""];
    }));
  }

  function operation(path, method, op, doc) {
    var details = el("details", "op");
    var summary = el("summary");
    summary.appendChild(el("span", "method " + method, method.toUpperCase()));
    summary.appendChild(el("span", "path", path));
    summary.appendChild(el("span", "summary", op.summary || ""));
    details.appendChild(summary);
    var body = el("div", "body");
    body.appendChild(el("p", "roles", op.description || "Public: no credentials needed."));
    var sections = [
      ["Parameters", parameters(op)],
      ["Request body", requestBody(op, doc)],
      ["Responses", responses(op)],
    ];
    sections.forEach(function (s) {
      if (!s[1]) return;
      body.appendChild(el("h4", null, s[0]));
      body.appendChild(s[1]);
    });
    details.appendChild(body);
    details.dataset.search = [method, path, op.summary || "", op.description || ""].join(" ").toLowerCase();
    return details;
  }

  function render(doc) {
    var info = doc.info || {};
    document.getElementById("title").textContent = (info.title || "API") + " " + (info.version || "") + " API reference";
    document.getElementById("about").textContent = info.description || "";
    var groups = {};
    var order = (doc.tags || []).map(function (t) { return t.name; });
    Object.keys(doc.paths || {}).sort().forEach(function (path) {
      var item = doc.paths[path];
      METHODS.forEach(function (method) {
        var op = item[method];
        if (!op) return;
        var tag = (op.tags && op.tags[0]) || "Other";
        if (order.indexOf(tag) < 0) order.push(tag);
        (groups[tag] = groups[tag] || []).push(operation(path, method, op, doc));
      });
    });
    var descriptions = {};
    (doc.tags || []).forEach(function (t) { descriptions[t.name] = t.description; });
    var main = document.getElementById("reference");
    var nav = document.getElementById("families");
    main.textContent = "";
    order.forEach(function (tag) {
      if (!groups[tag]) return;
      var section = el("section", "family");
      section.id = slug(tag);
      section.appendChild(el("h2", null, tag));
      if (descriptions[tag]) section.appendChild(el("p", null, descriptions[tag]));
      groups[tag].forEach(function (op) { section.appendChild(op); });
      main.appendChild(section);
      var link = el("a", null, tag + " (" + groups[tag].length + ")");
      link.href = "#" + section.id;
      nav.appendChild(link);
    });
    document.getElementById("filter").addEventListener("input", function (event) {
      var words = event.target.value.toLowerCase().split(/\s+/).filter(Boolean);
      main.querySelectorAll("section.family").forEach(function (section) {
        var shown = 0;
        section.querySelectorAll("details.op").forEach(function (op) {
          var match = words.every(function (w) { return op.dataset.search.indexOf(w) >= 0; });
          op.classList.toggle("hidden", !match);
          if (match) shown++;
        });
        section.classList.toggle("hidden", shown === 0);
      });
    });
  }

  function fail(message) {
    var main = document.getElementById("reference");
    main.textContent = "";
    main.appendChild(el("p", "error", message));
  }

  fetch("openapi.json", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error("openapi.json answered " + response.status + " " + response.statusText);
      return response.json();
    })
    .then(render)
    .catch(function (error) { fail("Cannot load the OpenAPI document: " + error.message); });
})();
