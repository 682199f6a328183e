// Runs a linear n8n workflow's nodes as n8n does, up to the HTTP Request it ends in, and prints
// that request as JSON ({url, headers, body}). Usage: node n8n_nodes.js <workflow.json> <token>
// Nodes: manualTrigger, code (its jsCode over $input.all()), crypto (hmac: createHmac(type,
// secret).update(value).digest(encoding), as n8n's Crypto node), httpRequest (raw or json body,
// header parameters, Header Auth credential). A parameter is an expression only when it starts
// with "=" (n8n's expression mode): then each {{ }} is evaluated with $json; otherwise it is text.
const crypto = require("crypto");
const fs = require("fs");

const workflow = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const token = process.argv[3] || "";
const byName = Object.fromEntries(workflow.nodes.map((n) => [n.name, n]));

function evaluate(value, json) {
  if (typeof value !== "string" || !value.startsWith("=")) return value;
  let text = value.slice(1);
  let out = "";
  for (let start = text.indexOf("{{"); start !== -1; start = text.indexOf("{{")) {
    // The closing "}}" is the first one outside the expression's own braces (object literals).
    let depth = 0;
    let end = start + 2;
    for (; end < text.length; end++) {
      if (text[end] === "{") depth++;
      else if (text[end] === "}" && depth > 0) depth--;
      else if (text[end] === "}" && text[end + 1] === "}") break;
    }
    const result = new Function("$json", `return (${text.slice(start + 2, end)});`)(json);
    out += text.slice(0, start) + (typeof result === "string" ? result : JSON.stringify(result));
    text = text.slice(end + 2);
  }
  return out + text;
}

function run(node, items) {
  const p = node.parameters;
  switch (node.type) {
    case "n8n-nodes-base.manualTrigger":
      return [{ json: {} }];
    case "n8n-nodes-base.code":
      return new Function("$input", p.jsCode)({ all: () => items });
    case "n8n-nodes-base.crypto":
      if (p.action !== "hmac") throw new Error(`unsupported crypto action ${p.action}`);
      return items.map((item) => {
        const mac = crypto.createHmac(p.type.toLowerCase(), p.secret);
        const signature = mac.update(evaluate(p.value, item.json)).digest(p.encoding);
        return { json: { ...item.json, [p.dataPropertyName]: signature } };
      });
    default:
      throw new Error(`unsupported node ${node.type}`);
  }
}

function request(node, item) {
  const p = node.parameters;
  const headers = {};
  for (const h of (p.headerParameters || {}).parameters || []) {
    headers[h.name] = String(evaluate(h.value, item.json));
  }
  if (p.authentication === "genericCredentialType" && p.genericAuthType === "httpHeaderAuth") {
    headers["Authorization"] = `Bearer ${token}`; // the Header Auth credential's value
  }
  const raw = p.contentType === "raw";
  headers["content-type"] = raw ? p.rawContentType : "application/json";
  const body = raw ? evaluate(p.body, item.json) : evaluate(p.jsonBody, item.json);
  return { url: evaluate(p.url, item.json), headers, body };
}

const targets = new Set(
  Object.values(workflow.connections).flatMap((c) => c.main.flat().map((l) => l.node))
);
let node = workflow.nodes.find((n) => !targets.has(n.name));
let items = [];
while (node.type !== "n8n-nodes-base.httpRequest") {
  items = run(node, items);
  node = byName[workflow.connections[node.name].main[0][0].node];
}
process.stdout.write(JSON.stringify(items.map((item) => request(node, item))));
