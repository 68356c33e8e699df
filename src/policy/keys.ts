/** The API of this webhook as users see it: every label and annotation key it reads. */
export const ANNOTATION_INJECT = "ecr-webhook.io/inject";
export const ANNOTATION_ACCOUNT = "ecr-webhook.io/account";
export const ANNOTATION_REGION = "ecr-webhook.io/region";
export const ANNOTATION_ALLOWED_ACCOUNTS = "ecr-webhook.io/allowed-accounts";
export const ANNOTATION_ALLOWED_REGIONS = "ecr-webhook.io/allowed-regions";

/**
 * On a Namespace: never served, even when opted in. The webhook's own namespace carries it, so it
 * stays out whatever an overlay renames it to (the webhook configuration excludes it too).
 */
export const LABEL_EXCLUDE = "ecr-webhook.io/exclude";

export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "ecr-webhook";

/** On a ServiceAccount: the pull Secret reference that ecr-webhook added (and may remove on opt-out). */
export const ANNOTATION_ADDED_REFERENCE = "ecr-webhook.io/added-pull-secret";
