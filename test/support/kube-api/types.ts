import type { KubeConfig } from "@kubernetes/client-node";
import type { AccessFilter } from "./access.js";

/** The resources the stand-in stores (plural, as in the URL). */
export type ResourcePlural =
  | "namespaces"
  | "secrets"
  | "serviceaccounts"
  | "pods"
  | "events"
  | "leases"
  | "mutatingwebhookconfigurations"
  | "selfsubjectaccessreviews";

/** Kubernetes authorization verbs, as the real server derives them from method + path + query. */
export type KubeVerb =
  "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** An object as it travels on the wire (timestamps are strings, secret data is base64). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

export interface RecordedRequest {
  readonly method: string;
  /** URL path without the query string. */
  readonly path: string;
  /** Query parameters (the last value wins for repeated keys). */
  readonly query: Readonly<Record<string, string>>;
  /** The Kubernetes verb, or undefined for a non-resource path. */
  readonly verb: KubeVerb | undefined;
  readonly resource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly contentType?: string;
  readonly accept?: string;
  /** The parsed JSON body (or the raw text when it is not JSON) of a POST/PUT/PATCH/DELETE. */
  readonly body?: unknown;
  /** Whether the request carried `Authorization: Bearer <the right token>`. */
  readonly authenticated: boolean;
  /** The Impersonate-User header, when sent. */
  readonly impersonateUser?: string;
}

export type RequestMatcher = (req: RecordedRequest) => boolean;

/** A filter for `count()`: either a predicate or fields that must all be equal. */
export type RequestFilter =
  | RequestMatcher
  | Partial<Pick<RecordedRequest, "method" | "path" | "verb" | "resource" | "namespace" | "name">>;

export interface FailSpec {
  /** Which requests to fail (default: any). */
  match?: RequestMatcher;
  /** HTTP status to answer with. */
  status: number;
  /** How many matching requests to fail (default 1). */
  times?: number;
  /** Body to send instead of the default Status (an object is sent as JSON, a string as text/plain). */
  body?: unknown;
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** Sets `Retry-After` and details.retryAfterSeconds (the default for 429 is 1). */
  retryAfterSeconds?: number;
  /** Message for the default Status body. */
  message?: string;
}

export interface DropSpec {
  match?: RequestMatcher;
  times?: number;
}

export interface ConflictSpec {
  /** Which writes (create/update/patch/delete) to refuse (default: any write). */
  match?: RequestMatcher;
  times?: number;
}

export interface KubeApiOptions {
  /** Bearer token the server accepts; any other token gets 401 (default "test-token"). */
  token?: string;
  /** User named in RBAC-style 403s for verbs the stand-in refuses (default the webhook's service account). */
  user?: string;
  /** Watch events retained for resuming watches; older resourceVersions get 410 Expired (default 1000). */
  historyLimit?: number;
  /** After a namespace is deleted, remove it after this many ms (default: stays Terminating until removeNamespace()). */
  namespaceFinalizeDelayMs?: number;
  /** Delay before handling every request (default 0). Also settable with setLatency(). */
  latencyMs?: number;
  /** Close watches that do not ask for timeoutSeconds after this many seconds (default: never). */
  defaultWatchTimeoutSeconds?: number;
  /** Interval of BOOKMARK events for watches with allowWatchBookmarks=true (default 1000 ms). */
  bookmarkIntervalMs?: number;
  /**
   * Set kind/apiVersion on each list item (default true). A real server leaves them out of typed list
   * items; set false to catch code that relies on them.
   */
  listItemKinds?: boolean;
  /**
   * Secret names the user may list and watch with a `metadata.name` field selector, as the shipped
   * ClusterRole grants them by resourceNames (default ["ecr-pull-secret"]); any other Secret list is 403.
   */
  listableSecretNames?: readonly string[];
  /** Create ServiceAccount "default" in every new namespace, like the service account controller (default false). */
  defaultServiceAccount?: boolean;
  /** First resourceVersion handed out (default 100). */
  initialResourceVersion?: number;
  /** Clock for creationTimestamp/deletionTimestamp (default: the real time). */
  now?: () => Date;
}

export interface NamespaceSeed {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeApiStandIn {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** A KubeConfig (cluster at url, user with the token, current context) for @kubernetes/client-node. */
  kubeConfig(options?: { token?: string; namespace?: string }): KubeConfig;
  /** Ends open watches, destroys sockets, cancels timers. */
  close(): Promise<void>;

  /** The current global resourceVersion. */
  resourceVersion(): string;
  addNamespace(name: string, seed?: NamespaceSeed): KubeObject;
  /** Mutates a copy of the namespace (return a replacement or mutate in place) and stores it (MODIFIED). */
  updateNamespace(name: string, mutate: (ns: KubeObject) => KubeObject | void): KubeObject;
  /** Like DELETE: phase Terminating + deletionTimestamp (MODIFIED); removal follows per namespaceFinalizeDelayMs. */
  terminateNamespace(name: string): KubeObject;
  /** Removes the namespace and everything in it (DELETED events), as the namespace controller finally does. */
  removeNamespace(name: string): void;
  /** Creates or replaces an object, filling uid/creationTimestamp/resourceVersion (ADDED or MODIFIED). */
  put(resource: ResourcePlural, namespace: string | undefined, obj: KubeObject): KubeObject;
  get(resource: ResourcePlural, namespace: string | undefined, name: string): KubeObject | undefined;
  /** Deep copies, sorted by namespace then name; all namespaces when namespace is undefined. */
  listObjects(resource: ResourcePlural, namespace?: string): KubeObject[];
  /** Deletes an object without going through the API (DELETED); true if it existed. */
  remove(resource: ResourcePlural, namespace: string | undefined, name: string): boolean;

  /** Every request received (also failed, dropped and refused ones), in arrival order; a live array. */
  readonly requests: readonly RecordedRequest[];
  count(filter?: RequestFilter): number;
  clearRequests(): void;

  failNext(spec: FailSpec): void;
  setLatency(ms: number): void;
  dropNext(spec?: DropSpec): void;
  conflictNext(spec?: ConflictSpec): void;
  /** Destroys the sockets of all open watch streams (the client sees a premature close). */
  dropWatches(): void;
  /** Ends all open watch streams cleanly, as the real server does when a watch times out. */
  endWatches(): void;
  /** Forgets the event history: a watch from any resourceVersion older than the current one gets 410. */
  compactHistory(): void;
  /** Number of watch streams currently open. */
  openWatches(): number;

  /** SelfSubjectAccessReviews matching `filter` answer allowed: false (all others are allowed). */
  denyAccess(filter: AccessFilter): void;
  /** Forgets every denyAccess(). */
  allowAllAccess(): void;
}
