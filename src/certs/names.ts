/**
 * Every name a client inside the cluster may use for the Service: the API server calls
 * `<svc>.<ns>.svc`, but tools and humans use the others, and a certificate missing one fails only
 * for whoever happens to use it.
 */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}
