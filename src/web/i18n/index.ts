import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Role } from "../../core/roles.js";
import { en, type Messages } from "./en.js";
import { zhCN } from "./zh-CN.js";

export const LANGUAGES = [
  { code: "en", label: "English", messages: en },
  { code: "zh-CN", label: "简体中文", messages: zhCN },
] as const satisfies readonly { code: string; label: string; messages: Messages }[];

export type Lang = (typeof LANGUAGES)[number]["code"];

const STORAGE_KEY = "msec.lang";

export function isLang(s: string): s is Lang {
  return LANGUAGES.some((l) => l.code === s);
}

/** The saved choice, else the browser's first language we speak, else English. */
export function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved && isLang(saved)) return saved;
  } catch {
    // Storage may be off; fall through to the browser's languages.
  }
  for (const tag of navigator.languages ?? [navigator.language]) {
    const lower = tag.toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

export function saveLang(lang: Lang): void {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Not saved; the choice still holds until the page is closed.
  }
}

export function messagesFor(lang: Lang): Messages {
  return LANGUAGES.find((l) => l.code === lang)?.messages ?? en;
}

/** Fill `{name}` placeholders. */
export function fmt(s: string, values: Record<string, string>): string {
  return s.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);
}

export function roleLabel(t: Messages, role: Role): string {
  return { viewer: t.roleViewer, operator: t.roleOperator, admin: t.roleAdmin }[role];
}

export interface I18n {
  lang: Lang;
  t: Messages;
  setLang: (lang: Lang) => void;
}

export const I18nContext = createContext<I18n>({ lang: "en", t: en, setLang: () => {} });

export function useI18n(): I18n {
  return useContext(I18nContext);
}
