import { describe, expect, it } from "vitest";
import type { ArtifactRef, Deployment, RunningVersions } from "../core/schemas/machine.js";
import { type Action, reconcile, type ServiceNow, versionsOf } from "./reconcile.js";

const ref = (version: number, name: string | null = null): ArtifactRef => ({
  version,
  sha256: "0".repeat(64),
  signature: "sig",
  name,
});

function dep(service: string, v: Partial<RunningVersions> = {}, weight = 100): Deployment {
  return {
    service,
    package: ref(v.package ?? 1),
    configs: (v.configs ?? []).map((c) => ref(c, `f${c}.json`)),
    libs: (v.libs ?? []).map((l) => ref(l)),
    plugins: (v.plugins ?? []).map((p) => ref(p)),
    weight,
  };
}

function now(
  service: string,
  v: Partial<RunningVersions> | null,
  opts: { weight?: number; failedAt?: number } = {},
): ServiceNow {
  return {
    service,
    versions: v
      ? {
          package: v.package ?? 1,
          configs: v.configs ?? [],
          libs: v.libs ?? [],
          plugins: v.plugins ?? [],
        }
      : null,
    weight: opts.weight ?? 100,
    failedAt: opts.failedAt ?? null,
  };
}

const kinds = (actions: Action[]) => actions.map((a) => `${a.kind}:${a.service}`);

describe("reconcile", () => {
  const cases: {
    name: string;
    revision?: number;
    desired: Deployment[];
    current: ServiceNow[];
    want: string[];
  }[] = [
    { name: "nothing wanted, nothing runs", desired: [], current: [], want: [] },
    { name: "a new service", desired: [dep("A.B")], current: [], want: ["deploy:A.B"] },
    {
      name: "known service with no process (first deploy failed earlier)",
      revision: 5,
      desired: [dep("A.B")],
      current: [now("A.B", null, { failedAt: 4 })],
      want: ["deploy:A.B"],
    },
    {
      name: "runs as desired",
      desired: [dep("A.B", { package: 3, configs: [2] })],
      current: [now("A.B", { package: 3, configs: [2] })],
      want: ["none:A.B"],
    },
    {
      name: "new package version",
      desired: [dep("A.B", { package: 4 })],
      current: [now("A.B", { package: 3 })],
      want: ["deploy:A.B"],
    },
    {
      name: "new package and new config: one deploy",
      desired: [dep("A.B", { package: 4, configs: [2] })],
      current: [now("A.B", { package: 3, configs: [1] })],
      want: ["deploy:A.B"],
    },
    {
      name: "library added",
      desired: [dep("A.B", { libs: [1] })],
      current: [now("A.B", {})],
      want: ["deploy:A.B"],
    },
    {
      name: "plugin order changed",
      desired: [dep("A.B", { plugins: [2, 1] })],
      current: [now("A.B", { plugins: [1, 2] })],
      want: ["deploy:A.B"],
    },
    {
      name: "config only",
      desired: [dep("A.B", { configs: [2] })],
      current: [now("A.B", { configs: [1] })],
      want: ["config:A.B"],
    },
    {
      name: "config removed",
      desired: [dep("A.B", {})],
      current: [now("A.B", { configs: [1] })],
      want: ["config:A.B"],
    },
    {
      name: "config and weight: the config action carries the weight",
      desired: [dep("A.B", { configs: [2] }, 10)],
      current: [now("A.B", { configs: [1] })],
      want: ["config:A.B"],
    },
    {
      name: "weight only",
      desired: [dep("A.B", {}, 10)],
      current: [now("A.B", {})],
      want: ["weight:A.B"],
    },
    {
      name: "failed at this revision: held",
      revision: 7,
      desired: [dep("A.B", { package: 4 })],
      current: [now("A.B", { package: 3 }, { failedAt: 7 })],
      want: ["hold:A.B"],
    },
    {
      name: "failed at an older revision: tried again",
      revision: 8,
      desired: [dep("A.B", { package: 4 })],
      current: [now("A.B", { package: 3 }, { failedAt: 7 })],
      want: ["deploy:A.B"],
    },
    {
      name: "failed, then rolled back to what runs: none (clears the failure)",
      revision: 7,
      desired: [dep("A.B", { package: 3 })],
      current: [now("A.B", { package: 3 }, { failedAt: 7 })],
      want: ["none:A.B"],
    },
    {
      name: "removed services are removed, sorted, after the rest",
      desired: [dep("C.D")],
      current: [now("Z.Z", {}), now("C.D", {}), now("A.B", {})],
      want: ["none:C.D", "remove:A.B", "remove:Z.Z"],
    },
    {
      name: "several services, each its own action",
      desired: [dep("A.A", { package: 2 }), dep("B.B", { configs: [3] }), dep("C.C", {}, 0)],
      current: [now("A.A", {}), now("B.B", {}), now("C.C", {})],
      want: ["deploy:A.A", "config:B.B", "weight:C.C"],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const actions = reconcile(
        { machine: "m1", revision: c.revision ?? 1, deployments: c.desired },
        c.current,
      );
      expect(kinds(actions)).toEqual(c.want);
    });
  }

  it("hands the deployment to the action", () => {
    const d = dep("A.B", { package: 9, configs: [1, 2] }, 30);
    const [a] = reconcile({ machine: "m1", revision: 1, deployments: [d] }, []);
    expect(a).toEqual({ kind: "deploy", service: "A.B", deployment: d });
    expect(versionsOf(d)).toEqual({ package: 9, configs: [1, 2], libs: [], plugins: [] });
  });
});
