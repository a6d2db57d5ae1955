/** One time-series chart (uPlot on a canvas), resized with its container, with a text summary for screen readers. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
}

export interface ChartProps {
  id: string;
  title: string;
  /** Seconds since the epoch, one per point. */
  times: number[];
  series: Series[];
  format(value: number): string;
  /** The smallest top of the y axis, so a flat line near zero does not get a magnified scale. */
  floor?: number;
}

export function Chart({ id, title, times, series, format, floor = 1 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const labels = series.map((item) => item.label).join('|');

  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    const chart = new uPlot(
      {
        width: Math.max(200, element.clientWidth),
        height: 160,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        axes: [{}, { values: (_u, ticks) => ticks.map((tick) => format(tick)), size: 70 }],
        scales: { y: { range: (_u, min, max) => [Math.min(0, min), Math.max(max * 1.1, floor)] } },
        series: [
          {},
          ...series.map((item) => ({
            label: item.label,
            stroke: item.color,
            width: 2,
            value: (_u: uPlot, v: number | null) => (v === null ? '–' : format(v)),
          })),
        ],
      },
      [times, ...series.map((item) => item.values)],
      element,
    );
    plot.current = chart;
    const observer = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(200, element.clientWidth), height: 160 }),
    );
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = undefined;
    };
  }, [labels]);

  useEffect(() => {
    plot.current?.setData([times, ...series.map((item) => item.values)]);
  }, [times, series]);

  const latest = series
    .map((item) => {
      const value = item.values.at(-1);
      return `${item.label} ${value === undefined || value === null ? 'no data' : format(value)}`;
    })
    .join(', ');
  return (
    <figure class="chart" data-chart={id} data-points={times.length}>
      <figcaption id={`chart-${id}-title`}>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${latest}, ${times.length} samples`} />
    </figure>
  );
}
