/**
 * Every setting of every command, declared once. Parsing, environment twins, validation messages,
 * `--help` and the flag table of docs/reference.md are all derived from this list, so they cannot drift apart.
 */
export type FlagKind = "string" | "int" | "bool" | "duration" | "list" | "repeated";

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  readonly help: string;
  /** Default as it would be written on the command line; absent means "not set". */
  readonly default?: string;
  /** Commands the flag applies to. */
  readonly commands: readonly CommandName[];
}

export type CommandName = "serve" | "refresh" | "explain" | "doctor" | "certs";

const RUNTIME: CommandName[] = ["serve", "refresh", "doctor"];
const POLICY: CommandName[] = ["serve", "refresh", "explain", "doctor"];

export const FLAGS: readonly FlagSpec[] = [
  {
    name: "port",
    kind: "int",
    default: "8443",
    commands: ["serve"],
    help: "HTTPS port for /mutate, /healthz and /readyz (0 picks a free port).",
  },
  {
    name: "metrics-port",
    kind: "int",
    default: "9090",
    commands: ["serve"],
    help: "Plain-HTTP port for /metrics (0 picks a free port).",
  },
  {
    name: "tls-cert-file",
    kind: "string",
    commands: ["serve", "doctor"],
    help: "Serving certificate (PEM). Reloaded when the file changes. Without it, serve generates a self-signed pair for local use.",
  },
  {
    name: "tls-key-file",
    kind: "string",
    commands: ["serve"],
    help: "Private key of the serving certificate (PEM).",
  },
  {
    name: "ca-bundle-out",
    kind: "string",
    commands: ["serve"],
    help: "Where serve writes the CA bundle of a generated self-signed certificate (default: a file in the temp directory).",
  },
  {
    name: "secret-name",
    kind: "string",
    default: "ecr-pull-secret",
    commands: POLICY,
    help: "Name of the managed pull Secret in each enabled namespace.",
  },
  {
    name: "namespace-label",
    kind: "string",
    default: "ecr-webhook.io/inject=enabled",
    commands: POLICY,
    help: "Label (key=value) that opts a namespace in.",
  },
  {
    name: "default-account",
    kind: "string",
    commands: POLICY,
    help: "AWS account used when a pod annotation names only a region, and for ServiceAccounts.",
  },
  {
    name: "default-region",
    kind: "string",
    commands: POLICY,
    help: "AWS region used when a pod annotation names only an account, and for ServiceAccounts.",
  },
  {
    name: "allowed-accounts",
    kind: "list",
    commands: POLICY,
    help: "Comma list: the only AWS accounts any namespace may receive credentials for (empty: any).",
  },
  {
    name: "allowed-regions",
    kind: "list",
    commands: POLICY,
    help: "Comma list: the only AWS regions any namespace may receive credentials for (empty: any).",
  },
  {
    name: "patch-service-accounts",
    kind: "bool",
    default: "true",
    commands: POLICY,
    help: "Add the pull Secret reference to ServiceAccounts created in enabled namespaces.",
  },
  {
    name: "ecr-public",
    kind: "bool",
    default: "false",
    commands: POLICY,
    help: "Also give pods that pull from public.ecr.aws an authenticated entry (ECR Public's GetAuthorizationToken, us-east-1), which raises the anonymous pull limits. The allow-lists do not apply to it.",
  },
  {
    name: "max-registries",
    kind: "int",
    default: "50",
    commands: POLICY,
    help: "Most registries one namespace's Secret holds (a Secret is at most 1 MiB; 50 real tokens take about 400 KiB); the entries asked for least recently go first.",
  },
  {
    name: "admission-deadline",
    kind: "duration",
    default: "2s",
    commands: ["serve"],
    help: "Longest a pod review waits for its Secret before it is admitted with a warning; keep it below the webhook's timeoutSeconds.",
  },
  {
    name: "shutdown-delay",
    kind: "duration",
    default: "10s",
    commands: ["serve"],
    help: "After SIGTERM: /readyz fails at once, and the webhook keeps serving this long (every answer with Connection: close) while endpoints stop sending to it; then it drains and exits.",
  },
  {
    name: "min-token-ttl",
    kind: "duration",
    default: "6h",
    commands: RUNTIME,
    help: "A token with less validity left than this is replaced (ECR tokens live 12h).",
  },
  {
    name: "account-role",
    kind: "repeated",
    commands: RUNTIME,
    help: "Repeatable: <account>=<role-arn>[#<external-id>]. Tokens for that account are fetched with this assumed role.",
  },
  {
    name: "aws-call-timeout",
    kind: "duration",
    default: "5s",
    commands: RUNTIME,
    help: "Timeout of each single AWS call (retries have their own).",
  },
  {
    name: "rotation-interval",
    kind: "duration",
    default: "10m",
    commands: ["serve"],
    help: "How often the leader refreshes expiring entries (with jitter).",
  },
  {
    name: "rotation-concurrency",
    kind: "int",
    default: "16",
    commands: ["serve", "refresh"],
    help: "Secret writes in flight at once during rotation.",
  },
  {
    name: "leader-elect",
    kind: "bool",
    default: "true",
    commands: ["serve"],
    help: "Elect one replica to run rotation and the namespace reconciler through a Lease.",
  },
  {
    name: "lease-namespace",
    kind: "string",
    commands: ["serve"],
    help: "Namespace of the leader Lease (default: $POD_NAMESPACE, else ecr-webhook).",
  },
  {
    name: "exclude-namespaces",
    kind: "list",
    commands: POLICY,
    help: "Comma list of namespaces never touched, even when labelled (kube-system and the webhook's own are always excluded).",
  },
  {
    name: "keep-on-disable",
    kind: "bool",
    default: "false",
    commands: ["serve"],
    help: "When a namespace loses the label, keep its Secret and ServiceAccount references instead of removing them.",
  },
  {
    name: "log-level",
    kind: "string",
    default: "info",
    commands: ["serve", "refresh", "certs", "doctor"],
    help: "trace, debug, info, warn, error or silent.",
  },
  {
    name: "namespace",
    kind: "string",
    default: "ecr-webhook",
    commands: ["certs", "doctor"],
    help: "Namespace of the webhook: its Service, its TLS Secret and (for doctor) its leader Lease.",
  },
  {
    name: "service",
    kind: "string",
    default: "ecr-webhook",
    commands: ["certs"],
    help: "Service the API server calls; the certificate names it in every DNS form (svc, svc.ns, svc.ns.svc, svc.ns.svc.cluster.local).",
  },
  {
    name: "tls-secret",
    kind: "string",
    default: "ecr-webhook-tls",
    commands: ["certs", "doctor"],
    help: "kubernetes.io/tls Secret (in --namespace) holding the serving certificate the webhook mounts.",
  },
  {
    name: "webhook-config",
    kind: "string",
    default: "ecr-webhook",
    commands: ["certs", "doctor"],
    help: "MutatingWebhookConfiguration whose webhooks get the CA bundle.",
  },
  {
    name: "renew-before",
    kind: "duration",
    default: "720h",
    commands: ["certs"],
    help: "Replace a certificate with less validity left than this; a valid one with the right names is reused.",
  },
  {
    name: "validity",
    kind: "duration",
    default: "8760h",
    commands: ["certs"],
    help: "Validity of a newly issued serving certificate (its CA lives twice as long).",
  },
  {
    name: "as-service-account",
    kind: "string",
    commands: ["doctor"],
    help: "<namespace>:<name>: check RBAC as this ServiceAccount by impersonation (e.g. ecr-webhook:ecr-webhook); default: the current identity.",
  },
];

export function envName(flag: string): string {
  return `ECR_WEBHOOK_${flag.toUpperCase().replace(/-/g, "_")}`;
}
