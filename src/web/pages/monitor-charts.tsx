import type { RefObject } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { MetricKind } from "../../core/schemas/monitor.js";
import { API, type AttributeInfo, type CompareName, type Stat } from "../api.js";
import { Chart, type ChartLine } from "../components/chart.js";
import { Table } from "../components/table.js";
import { LoadState, useLoad } from "../components.js";
import type { Messages } from "../i18n/en.js";
import { fmt, useI18n } from "../i18n/index.js";
import { type ChartData, fetchChart, type LineName, summarize } from "../series.js";
import type { Window } from "./monitor.js";

const DAY = 86_400_000;

/** True once the element has come near the viewport: charts below the fold load when scrolled to. */
function useVisible(ref: RefObject<HTMLElement | null>): boolean {
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el || visible) return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) setVisible(true);
      },
      { rootMargin: "200px" },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [ref, visible]);
  return visible;
}

export function lineLabel(t: Messages, name: LineName, span: number): string {
  if (span <= DAY) {
    return { current: t.lineToday, yesterday: t.lineYesterday, week: t.lineWeek }[name];
  }
  return { current: t.lineCurrent, yesterday: t.lineDayEarlier, week: t.lineWeekEarlier }[name];
}

function statsFor(kind: MetricKind): Stat[] {
  return kind === "histogram" ? ["avg", "p50", "p90", "p99", "value"] : ["value"];
}

function statLabel(t: Messages, s: Stat): string {
  const labels: Partial<Record<Stat, string>> = { value: t.statCount, avg: t.statAvg };
  return labels[s] ?? s;
}

function chartLines(t: Messages, data: ChartData): ChartLine[] {
  const span = (data.times.at(-1) ?? 0) - (data.times[0] ?? 0);
  return data.lines.map((l) => ({
    label: lineLabel(t, l.name, span),
    values: l.values,
    look: l.name,
  }));
}

/** The last data while new data loads: a chart keeps its place instead of flashing. */
function useKept<T>(value: T | undefined): T | undefined {
  const kept = useRef<T | undefined>(value);
  if (value !== undefined) kept.current = value;
  return kept.current;
}

function StatSelect({
  kind,
  stat,
  onChange,
}: {
  kind: MetricKind;
  stat: Stat;
  onChange: (s: Stat) => void;
}) {
  const { t } = useI18n();
  const stats = statsFor(kind);
  if (stats.length < 2) return null;
  return (
    <label class="inline-field small">
      <span class="visually-hidden">{t.stat}</span>
      <select value={stat} onChange={(e) => onChange(e.currentTarget.value as Stat)}>
        {stats.map((s) => (
          <option key={s} value={s}>
            {statLabel(t, s)}
          </option>
        ))}
      </select>
    </label>
  );
}

interface ChartCommon {
  service: string;
  info: AttributeInfo;
  instance: string;
  win: Window;
  compare: CompareName[];
}

export function ChartCard(
  p: ChartCommon & {
    detailHref: string;
    onZoom: (from: number, to: number) => void;
    onReset: () => void;
  },
) {
  const { t } = useI18n();
  const ref = useRef<HTMLElement>(null);
  const visible = useVisible(ref);
  const [stat, setStat] = useState<Stat>(statsFor(p.info.kind)[0] as Stat);
  return (
    <article class="card chart-card" ref={ref} data-attr={p.info.attr}>
      <header class="chart-head">
        <h3>
          <a href={p.detailHref} title={t.openChart}>
            {p.info.attr}
          </a>
        </h3>
        <span class="badge">{kindName(t, p.info.kind)}</span>
        <StatSelect kind={p.info.kind} stat={stat} onChange={setStat} />
      </header>
      {visible ? (
        <ChartBody {...p} stat={stat} height={200} everyMinute={false} />
      ) : (
        <div class="chart-placeholder" style={{ height: "200px" }} />
      )}
    </article>
  );
}

function kindName(t: Messages, k: MetricKind): string {
  return { counter: t.metricCounter, gauge: t.metricGauge, histogram: t.metricHistogram }[k];
}

function ChartBody(
  p: ChartCommon & {
    stat: Stat;
    height: number;
    everyMinute: boolean;
    view?: Window | undefined;
    onZoom: (from: number, to: number) => void;
    onReset: () => void;
  },
) {
  const { t } = useI18n();
  const q = {
    attr: p.info.attr,
    instance: p.instance,
    from: p.win.from,
    to: p.win.to,
    compare: p.compare,
    stat: p.stat,
  };
  const data = useLoad(
    () => fetchChart(p.service, q, p.everyMinute),
    [p.service, q.attr, q.instance, q.from, q.to, q.compare.join(), q.stat, p.everyMinute],
  );
  const shown = useKept(data.data);
  // The same lines for the same data: the chart then keeps its zoom across re-renders.
  const lines = useMemo(() => (shown ? chartLines(t, shown) : []), [shown, t]);
  return (
    <>
      {!shown && <LoadState load={data} />}
      {shown && data.error !== undefined && <LoadState load={data} />}
      {shown && (
        <>
          <Chart
            label={fmt(t.chartOf, { attr: p.info.attr })}
            times={shown.times}
            lines={lines}
            height={p.height}
            view={p.view}
            onSelect={p.onZoom}
            onReset={p.onReset}
            syncKey={p.everyMinute ? undefined : p.service}
          />
          <SeriesSummary data={shown} />
        </>
      )}
    </>
  );
}

/** The chart in words: each line's last, lowest and highest value (and how finely it is drawn). */
function SeriesSummary({ data }: { data: ChartData }) {
  const { t, f } = useI18n();
  const span = (data.times.at(-1) ?? 0) - (data.times[0] ?? 0);
  const step =
    data.stepMs >= 3_600_000 ? `${data.stepMs / 3_600_000} h` : `${data.stepMs / 60_000} min`;
  return (
    <ul class="series-summary">
      {data.lines.map((l) => {
        const s = summarize(l.values);
        return (
          <li key={l.name} data-line={l.name}>
            <span class={`swatch swatch-${l.name}`} aria-hidden="true" />
            <strong>{lineLabel(t, l.name, span)}</strong>{" "}
            {s
              ? fmt(t.summaryText, {
                  last: f.number(s.last),
                  min: f.number(s.min),
                  max: f.number(s.max),
                })
              : t.noData}
          </li>
        );
      })}
      <li class="muted">{fmt(t.stepText, { step, points: f.number(data.times.length) })}</li>
    </ul>
  );
}

/** One attribute large, every minute of up to a week; zoom by dragging, or with the buttons. */
export function ChartDetail(
  p: ChartCommon & { backHref: string; onPickInstance: (instance: string) => void },
) {
  const { t } = useI18n();
  const [stat, setStat] = useState<Stat>(statsFor(p.info.kind)[0] as Stat);
  const [view, setView] = useState<Window>();
  const full = p.win;
  const cur = view ?? full;
  const span = cur.to - cur.from;
  const clamp = (from: number, to: number): Window | undefined => {
    const w = Math.min(to - from, full.to - full.from);
    const a = Math.max(full.from, Math.min(from, full.to - w));
    return w >= full.to - full.from ? undefined : { from: a, to: a + w };
  };
  const zoomIn = () => setView(clamp(cur.from + span / 4, cur.to - span / 4));
  const zoomOut = () => setView(clamp(cur.from - span / 2, cur.to + span / 2));
  const pan = (dir: number) =>
    setView(clamp(cur.from + (dir * span) / 4, cur.to + (dir * span) / 4));
  // A new window or instance starts unzoomed.
  useEffect(() => setView(undefined), [full.from, full.to, p.instance]);

  return (
    <section class="card chart-detail" aria-label={fmt(t.chartOf, { attr: p.info.attr })}>
      <div class="toolbar">
        <a href={p.backHref}>← {t.backToDashboard}</a>
        <span class="spacer" />
        <StatSelect kind={p.info.kind} stat={stat} onChange={setStat} />
        <fieldset class="actions tight plain">
          <legend class="visually-hidden">{t.zoom}</legend>
          <button type="button" onClick={() => pan(-1)} aria-label={t.panLeft}>
            ←
          </button>
          <button type="button" onClick={zoomIn}>
            {t.zoomIn}
          </button>
          <button type="button" onClick={zoomOut} disabled={!view}>
            {t.zoomOut}
          </button>
          <button type="button" onClick={() => pan(1)} aria-label={t.panRight}>
            →
          </button>
          <button type="button" onClick={() => setView(undefined)} disabled={!view}>
            {t.resetZoom}
          </button>
        </fieldset>
      </div>
      <ChartBody
        {...p}
        stat={stat}
        height={420}
        everyMinute={true}
        view={view}
        onZoom={(from, to) => setView(clamp(from, to))}
        onReset={() => setView(undefined)}
      />
      <TopInstances service={p.service} attr={p.info.attr} win={cur} onPick={p.onPickInstance} />
    </section>
  );
}

function TopInstances({
  service,
  attr,
  win,
  onPick,
}: {
  service: string;
  attr: string;
  win: Window;
  onPick: (instance: string) => void;
}) {
  const { t, f } = useI18n();
  const top = useLoad(
    () => API.top(service, { attr, from: win.from, to: win.to, limit: 10 }),
    [service, attr, win.from, win.to],
  );
  const shown = useKept(top.data);
  return (
    <section aria-labelledby="top-title">
      <h3 id="top-title">{t.topInstances}</h3>
      {!shown && <LoadState load={top} />}
      {shown && shown.instances.length === 0 && <p class="empty">{t.noInstanceData}</p>}
      {shown && shown.instances.length > 0 && (
        <Table
          columns={[
            t.instance,
            { label: fmt(t.topBy, { by: shown.by }), num: true },
            { label: t.actionsHeader, hidden: true },
          ]}
        >
          {shown.instances.map((i) => (
            <tr key={i.instance}>
              <th scope="row">
                <code>{i.instance}</code>
              </th>
              <td class="num">{f.number(i.value)}</td>
              <td>
                <button type="button" class="link" onClick={() => onPick(i.instance)}>
                  {t.showInstance}
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}
