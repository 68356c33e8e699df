/**
 * When a pod last asked for each host, per namespace, by this process's clock: what a full Secret
 * evicts first is what was asked for least recently. The warm path counts too.
 */
export function askedHosts(now: () => number) {
  const asked = new Map<string, Map<string, number>>();
  return {
    note(namespace: string, hosts: readonly string[]): void {
      let hostsAsked = asked.get(namespace);
      if (!hostsAsked) asked.set(namespace, (hostsAsked = new Map<string, number>()));
      const at = now();
      for (const host of hosts) hostsAsked.set(host, at);
    },
    /** Epoch ms of the last ask for each host of `namespace`; 0 when never. */
    lastAsked:
      (namespace: string) =>
      (host: string): number =>
        asked.get(namespace)?.get(host) ?? 0,
    forget(namespace: string): void {
      asked.delete(namespace);
    },
  };
}
