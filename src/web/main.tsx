import { render } from "preact";
import { App } from "./app.js";
import { initialLang, loadMessages } from "./i18n/index.js";
import "./style.css";

const root = document.getElementById("app");
// The first paint is in the user's language: fetch its catalog first (English is built in).
if (root) {
  const start = () => render(<App />, root);
  loadMessages(initialLang()).then(start, start);
}
