import { useState } from "preact/hooks";
import { API, type AttributeInfo, type CompareName } from "../api.js";
import { DataTable } from "../components/table.js";
import { LoadState, PageTitle, useLoad, usePoll, When } from "../components.js";
import type { Messages } from "../i18n/en.js";
import { fmt, useI18n } from "../i18n/index.js";
import { navigate, replaceLink, to } from "../router.js";
import { ChartCard, ChartDetail } from "./monitor-charts.js";

/**
 * The monitor (loaded lazily, with uPlot): a dashboard per service of every attribute as
 * a chart with yesterday and last week laid over it; one chart large, at minute detail.
 * Everything the user picks is in the URL, so a view can be linked and Back undoes a zoom.
 */
const MINUTE = 60_000;
const RANGES = {
  "1h": 60 * MINUTE,
  "6h": 360 * MINUTE,
  "24h": 1440 * MINUTE,
  "3d": 3 * 1440 * MINUTE,
  "7d": 7 * 1440 * MINUTE,
} as const;
type RangeKey = keyof typeof RANGES;
const RANGE_KEYS = Object.keys(RANGES) as RangeKey[];
const COMPARES: CompareName[] = ["yesterday", "week"];

export interface MonitorView {
  range: RangeKey;
  /** A zoomed (custom) window, epoch ms; otherwise the range up to now. */
  from: number | undefined;
  to: number | undefined;
  instance: string;
  compare: CompareName[];
  /** One attribute shown large. */
  attr: string | undefined;
  filter: string;
}

export interface Window {
  from: number;
  to: number;
}

function readView(q: URLSearchParams): MonitorView {
  const range = q.get("range");
  const num = (k: string) => {
    const v = Number(q.get(k));
    return q.has(k) && Number.isFinite(v) ? v : undefined;
  };
  const compare = q.get("compare");
  return {
    range: range && range in RANGES ? (range as RangeKey) : "24h",
    from: num("from"),
    to: num("to"),
    instance: q.get("instance") || "*",
    compare: compare === null ? COMPARES : COMPARES.filter((c) => compare.split(",").includes(c)),
    attr: q.get("attr") ?? undefined,
    filter: q.get("filter") ?? "",
  };
}

export function monitorLink(service: string, v: MonitorView): string {
  return to.monitor(service, {
    range: v.range === "24h" ? undefined : v.range,
    from: v.from,
    to: v.to,
    instance: v.instance === "*" ? undefined : v.instance,
    compare: v.compare.length === COMPARES.length ? undefined : v.compare.join(",") || "none",
    attr: v.attr,
    filter: v.filter || undefined,
  });
}

function windowOf(v: MonitorView, now: number): Window {
  if (v.from !== undefined && v.to !== undefined && v.to > v.from) {
    return { from: v.from, to: v.to };
  }
  const end = Math.floor(now / MINUTE) * MINUTE;
  return { from: end - RANGES[v.range] + MINUTE, to: end };
}

function rangeLabel(t: Messages, r: RangeKey): string {
  return { "1h": t.range1h, "6h": t.range6h, "24h": t.range24h, "3d": t.range3d, "7d": t.range7d }[
    r
  ];
}

export function MonitorPage({
  service,
  query,
}: {
  service: string | undefined;
  query: URLSearchParams;
}) {
  return service ? <Dashboard service={service} query={query} /> : <MonitorIndex />;
}

function MonitorIndex() {
  const { t, f } = useI18n();
  const services = useLoad(() => API.metricServices());
  return (
    <>
      <PageTitle>{t.monitorTitle}</PageTitle>
      <p class="muted">{t.monitorIntro}</p>
      <DataTable
        load={services}
        rows={(d) => d.services}
        empty={t.noMetrics}
        columns={[t.service, { label: t.attributes, num: true }, t.lastPoint]}
        row={(s) => (
          <tr key={s.service}>
            <th scope="row">
              <a href={to.monitor(s.service)}>{s.service}</a>
            </th>
            <td class="num">{f.number(s.attributes)}</td>
            <td>
              <When at={s.lastMinute} />
            </td>
          </tr>
        )}
      />
    </>
  );
}

function groupOf(attr: string): "business" | "rpc" | "sys" {
  return attr.startsWith("rpc.") ? "rpc" : attr.startsWith("sys.") ? "sys" : "business";
}

function Dashboard({ service, query }: { service: string; query: URLSearchParams }) {
  const { t } = useI18n();
  const v = readView(query);
  const [now, setNow] = useState(() => Date.now());
  usePoll(() => setNow(Date.now()), MINUTE);
  const win = windowOf(v, now);
  const attrs = useLoad(() => API.attributes(service), [service]);
  const set = (patch: Partial<MonitorView>) => navigate(monitorLink(service, { ...v, ...patch }));
  const zoomed = v.from !== undefined && v.to !== undefined;

  if (v.attr !== undefined) {
    const info = attrs.data?.attributes.find((a) => a.attr === v.attr);
    return (
      <>
        <Toolbar service={service} view={v} win={win} zoomed={zoomed} set={set} />
        <LoadState load={attrs} />
        {attrs.data && !info && (
          <p class="note note-error">{fmt(t.noSuchAttr, { attr: v.attr })}</p>
        )}
        {info && (
          <ChartDetail
            service={service}
            info={info}
            instance={v.instance}
            win={win}
            compare={v.compare}
            backHref={monitorLink(service, { ...v, attr: undefined })}
            onPickInstance={(instance) => set({ instance })}
          />
        )}
      </>
    );
  }

  const needle = v.filter.trim().toLowerCase();
  const list = (attrs.data?.attributes ?? []).filter((a) => a.attr.toLowerCase().includes(needle));
  const groups: { key: "business" | "rpc" | "sys"; label: string; attrs: AttributeInfo[] }[] = [
    { key: "business", label: t.groupBusiness, attrs: [] },
    { key: "rpc", label: t.groupRpc, attrs: [] },
    { key: "sys", label: t.groupSys, attrs: [] },
  ];
  for (const a of list) groups.find((g) => g.key === groupOf(a.attr))?.attrs.push(a);
  const business = groups[0]?.attrs.length ?? 0;

  return (
    <>
      <Toolbar service={service} view={v} win={win} zoomed={zoomed} set={set} />
      <div class="toolbar">
        <label class="inline-field">
          <span>{t.filterAttributes}</span>
          <input
            type="search"
            value={v.filter}
            onInput={(e) =>
              replaceLink(monitorLink(service, { ...v, filter: e.currentTarget.value }))
            }
          />
        </label>
        <span class="muted">{t.dragToZoom}</span>
      </div>
      <LoadState load={attrs} empty={t.noAttributes} isEmpty={(d) => d.attributes.length === 0} />
      {groups
        .filter((g) => g.attrs.length > 0)
        .map((g) => (
          <details
            key={g.key}
            class="group"
            open={g.key !== "rpc" || business === 0 || needle !== ""}
          >
            <summary>
              {g.label} <span class="count">{g.attrs.length}</span>
            </summary>
            <div class="chart-grid">
              {g.attrs.map((a) => (
                <ChartCard
                  key={a.attr}
                  service={service}
                  info={a}
                  instance={v.instance}
                  win={win}
                  compare={v.compare}
                  detailHref={monitorLink(service, { ...v, attr: a.attr })}
                  onZoom={(from, to) => set({ from, to })}
                  onReset={() => set({ from: undefined, to: undefined })}
                />
              ))}
            </div>
          </details>
        ))}
    </>
  );
}

function Toolbar({
  service,
  view: v,
  win,
  zoomed,
  set,
}: {
  service: string;
  view: MonitorView;
  win: Window;
  zoomed: boolean;
  set: (patch: Partial<MonitorView>) => void;
}) {
  const { t, f } = useI18n();
  const services = useLoad(() => API.metricServices());
  const instances = useLoad(
    () =>
      API.service(service).then(
        (d) => d.instances.map((i) => i.addr),
        () => [] as string[],
      ),
    [service],
  );
  const instanceList = instances.data ?? [];
  if (v.instance !== "*" && !instanceList.includes(v.instance)) instanceList.push(v.instance);
  const serviceList = services.data?.services.map((s) => s.service) ?? [service];
  if (!serviceList.includes(service)) serviceList.unshift(service);
  const zoomOut = () => {
    const span = win.to - win.from;
    set({
      from: win.from - Math.round(span / 2),
      to: Math.min(Date.now(), win.to + Math.round(span / 2)),
    });
  };

  return (
    <>
      <p class="crumbs">
        <a href={to.monitor()}>{t.monitorTitle}</a> / <a href={to.service(service)}>{service}</a>
      </p>
      <PageTitle>{v.attr ?? fmt(t.monitorOf, { service })}</PageTitle>
      <fieldset class="toolbar plain">
        <legend class="visually-hidden">{t.chartOptions}</legend>
        <label class="inline-field">
          <span>{t.service}</span>
          <select value={service} onChange={(e) => navigate(to.monitor(e.currentTarget.value))}>
            {serviceList.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label class="inline-field">
          <span>{t.instance}</span>
          <select value={v.instance} onChange={(e) => set({ instance: e.currentTarget.value })}>
            <option value="*">{t.total}</option>
            {instanceList.map((i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </select>
        </label>
        <label class="inline-field">
          <span>{t.timeRange}</span>
          <select
            value={zoomed ? "custom" : v.range}
            onChange={(e) => {
              const r = e.currentTarget.value;
              if (r in RANGES) set({ range: r as RangeKey, from: undefined, to: undefined });
            }}
          >
            {zoomed && <option value="custom">{t.rangeCustom}</option>}
            {RANGE_KEYS.map((r) => (
              <option key={r} value={r}>
                {rangeLabel(t, r)}
              </option>
            ))}
          </select>
        </label>
        <fieldset class="inline-checks">
          <legend class="visually-hidden">{t.compareWith}</legend>
          {COMPARES.map((c) => (
            <label key={c}>
              <input
                type="checkbox"
                checked={v.compare.includes(c)}
                onChange={(e) =>
                  set({
                    compare: e.currentTarget.checked
                      ? COMPARES.filter((x) => x === c || v.compare.includes(x))
                      : v.compare.filter((x) => x !== c),
                  })
                }
              />{" "}
              {c === "yesterday" ? t.compareYesterday : t.compareWeek}
            </label>
          ))}
        </fieldset>
        <button type="button" onClick={zoomOut}>
          {t.zoomOut}
        </button>
        {zoomed && (
          <button type="button" onClick={() => set({ from: undefined, to: undefined })}>
            {t.resetZoom}
          </button>
        )}
      </fieldset>
      <p class="muted small" data-testid="window">
        {f.dateTime(win.from)} – {f.dateTime(win.to)}
      </p>
    </>
  );
}
