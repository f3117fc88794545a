import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Role } from "../../core/roles.js";
import { en, type Messages } from "./en.js";

/** English is built in; the other catalogs are fetched when chosen (one language's strings per user). */
export const LANGUAGES = [
  { code: "en", label: "English", load: () => Promise.resolve(en) },
  { code: "zh-CN", label: "简体中文", load: () => import("./zh-CN.js").then((m) => m.zhCN) },
] as const satisfies readonly { code: string; label: string; load: () => Promise<Messages> }[];

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

const catalogs = new Map<Lang, Messages>([["en", en]]);

/** Fetch a language's catalog (once); `messagesFor` then has it. */
export async function loadMessages(lang: Lang): Promise<Messages> {
  const known = catalogs.get(lang);
  if (known) return known;
  const entry = LANGUAGES.find((l) => l.code === lang);
  const messages = entry ? await entry.load() : en;
  catalogs.set(lang, messages);
  return messages;
}

/** The language to start in: the preferred one if its catalog came, else English. */
export function startLang(): Lang {
  const lang = initialLang();
  return catalogs.has(lang) ? lang : "en";
}

/** A loaded catalog (English until `loadMessages` has fetched the language). */
export function messagesFor(lang: Lang): Messages {
  return catalogs.get(lang) ?? en;
}

/** Fill `{name}` placeholders. */
export function fmt(s: string, values: Record<string, string>): string {
  return s.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);
}

export function roleLabel(t: Messages, role: Role): string {
  return { viewer: t.roleViewer, operator: t.roleOperator, admin: t.roleAdmin }[role];
}

/** Numbers, dates and durations written the way the chosen language writes them. */
export interface Formats {
  number: (n: number, maxFraction?: number) => string;
  /** 1.2K, 3.4M (万 in Chinese): for axes and tight cells. */
  compact: (n: number) => string;
  /** A ratio (0.034) as a percentage (3.4%). */
  percent: (ratio: number) => string;
  bytes: (n: number) => string;
  /** Date and time to the minute (ISO string or epoch ms). */
  dateTime: (t: string | number) => string;
  /** Date and time to the second. */
  dateTimeSeconds: (t: string | number) => string;
  /** Time of day, hours and minutes. */
  time: (t: number) => string;
  /** Month and day, for axes longer than a day. */
  monthDay: (t: number) => string;
  /** An amount of time in words: "1 day", "30 minutes", "4 小时". */
  duration: (n: number, unit: "second" | "minute" | "hour" | "day") => string;
  /** "5 minutes ago", "in 2 hours". */
  relative: (t: string | number, now?: number) => string;
}

const formatsCache = new Map<Lang, Formats>();

export function formatsFor(lang: Lang): Formats {
  const cached = formatsCache.get(lang);
  if (cached) return cached;
  const numbers = new Map<number, Intl.NumberFormat>();
  const numberFmt = (max: number) => {
    let f = numbers.get(max);
    if (!f) {
      f = new Intl.NumberFormat(lang, { maximumFractionDigits: max });
      numbers.set(max, f);
    }
    return f;
  };
  const compact = new Intl.NumberFormat(lang, { notation: "compact", maximumFractionDigits: 1 });
  const percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 2 });
  const dateTime = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  const dateTimeSeconds = new Intl.DateTimeFormat(lang, {
    dateStyle: "medium",
    timeStyle: "medium",
  });
  const time = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
  const monthDay = new Intl.DateTimeFormat(lang, { month: "short", day: "numeric" });
  const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  const units = new Map<string, Intl.NumberFormat>();
  const ms = (t: string | number) => (typeof t === "number" ? t : Date.parse(t));
  const f: Formats = {
    number: (n, max = 2) => numberFmt(max).format(n),
    compact: (n) => compact.format(n),
    percent: (r) => percent.format(r),
    bytes: (n) => {
      const units = ["B", "KiB", "MiB", "GiB"];
      let i = 0;
      let v = n;
      while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
      }
      return `${numberFmt(i === 0 ? 0 : 1).format(v)} ${units[i]}`;
    },
    duration: (n, unit) => {
      let u = units.get(unit);
      if (!u) {
        u = new Intl.NumberFormat(lang, { style: "unit", unit, unitDisplay: "long" });
        units.set(unit, u);
      }
      return u.format(n);
    },
    dateTime: (t) => dateTime.format(ms(t)),
    dateTimeSeconds: (t) => dateTimeSeconds.format(ms(t)),
    time: (t) => time.format(t),
    monthDay: (t) => monthDay.format(t),
    relative: (t, now = Date.now()) => {
      const s = (ms(t) - now) / 1000;
      const abs = Math.abs(s);
      if (abs < 45) return relative.format(Math.round(s), "second");
      if (abs < 45 * 60) return relative.format(Math.round(s / 60), "minute");
      if (abs < 22 * 3600) return relative.format(Math.round(s / 3600), "hour");
      return relative.format(Math.round(s / 86400), "day");
    },
  };
  formatsCache.set(lang, f);
  return f;
}

export interface I18n {
  lang: Lang;
  t: Messages;
  f: Formats;
  setLang: (lang: Lang) => void;
}

export const I18nContext = createContext<I18n>({
  lang: "en",
  t: en,
  f: formatsFor("en"),
  setLang: () => {},
});

export function useI18n(): I18n {
  return useContext(I18nContext);
}
