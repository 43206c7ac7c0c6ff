{{/* Names */}}
{{- define "evshare.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object's name; components append "-<component>", so keep room for them. */}}
{{- define "evshare.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "evshare.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels; call with (dict "root" $ "component" "auth"). */}}
{{- define "evshare.labels" -}}
helm.sh/chart: {{ include "evshare.chart" .root }}
{{ include "evshare.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: evshare
{{- end }}

{{- define "evshare.selectorLabels" -}}
app.kubernetes.io/name: {{ include "evshare.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Matches every pod of the release (for the NetworkPolicies). */}}
{{- define "evshare.releaseSelector" -}}
app.kubernetes.io/name: {{ include "evshare.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "evshare.image" -}}
{{- include "evshare.imageRef" (dict "image" .Values.image "defaultTag" .Chart.AppVersion) }}
{{- end }}

{{/* An image reference: repository@digest when a digest is given (it wins: a tag can be moved,
     a digest cannot), else repository:tag. Call with (dict "image" $image "defaultTag" "..."). */}}
{{- define "evshare.imageRef" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (required (printf "a tag or a digest for the image %s" .image.repository) (default .defaultTag .image.tag)) }}
{{- end }}
{{- end }}

{{- define "evshare.secretName" -}}
{{- default (printf "%s-secrets" (include "evshare.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{/*
Security contexts: every container runs as a non-root user on a read-only root filesystem with no
capabilities, no privilege escalation and the RuntimeDefault seccomp profile (the "restricted" Pod
Security Standard); writable paths are explicit emptyDir or PVC mounts. The user and group ids are
the images' own (podSecurity.fixedIds); without them the platform assigns them (OpenShift's
restricted-v2 SCC picks from the namespace's range) and runAsNonRoot still holds.
Call with (dict "root" $ "uid" 10001).
*/}}
{{- define "evshare.podSecurityContext" -}}
runAsNonRoot: true
{{- if .root.Values.podSecurity.fixedIds }}
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "evshare.containerSecurityContext" -}}
runAsNonRoot: true
{{- if .root.Values.podSecurity.fixedIds }}
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
{{- end }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* An env entry from a plain value or, when its name is set, a Secret key: (dict "name" "X" "value" "..." "secret" (dict name key)). */}}
{{- define "evshare.envFrom" -}}
- name: {{ .name }}
{{- if and .secret .secret.name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret.name }}
      key: {{ required (printf "the key of the Secret %s for %s" .secret.name .name) .secret.key }}
{{- else }}
  value: {{ .value | quote }}
{{- end }}
{{- end }}

{{/*
The release's NATS identities and their permissions, generated from services/kit/src/bus/permissions.ts:
the gateway's only where the release deploys it. An identity listed here without its Secret would
leave the development NATS pod waiting for that Secret (CreateContainerConfigError).
*/}}
{{- define "evshare.natsPermissions" -}}
{{- $identities := .Files.Get "files/nats-permissions.json" | fromJson }}
{{- if not (include "evshare.gatewayDeployed" .) }}
{{- $_ := unset $identities "gateway" }}
{{- end }}
{{- toJson $identities }}
{{- end }}

{{/*
A NATS identity's user name: (dict "root" $ "name" "app"). The service's name on the release's own
NATS (development); on a shared NATS (production) the release's fullname first, as NATS wants user
names unique across its accounts and every release has an account of its own (nats-account.yaml).
*/}}
{{- define "evshare.natsUser" -}}
{{- if eq .root.Values.mode "development" }}{{ .name }}{{ else }}{{ printf "%s-%s" (include "evshare.fullname" .root) .name }}{{ end }}
{{- end }}

{{/* The Secret the chart generates for a NATS identity's password: (dict "root" $ "name" "app"). */}}
{{- define "evshare.natsSecretName" -}}
{{- printf "%s-nats-%s" (include "evshare.fullname" .root) .name }}
{{- end }}

{{/* Where a NATS identity's password is: its own Secret (key password), or key nats-<name>-password of secrets.existingSecret. */}}
{{- define "evshare.natsSecretRef" -}}
{{- if .root.Values.secrets.existingSecret -}}
{ name: {{ .root.Values.secrets.existingSecret }}, key: nats-{{ .name }}-password }
{{- else -}}
{ name: {{ include "evshare.natsSecretName" . }}, key: password }
{{- end }}
{{- end }}

{{/*
NATS_URL for the mode, and the service's own NATS user (named after it) with the password from
its own Secret: (dict "root" $ "name" "app"). Only services with a NATS identity get this.
*/}}
{{- define "evshare.natsEnv" -}}
{{- $root := .root }}
{{- if eq $root.Values.mode "development" }}
- name: NATS_URL
  value: "nats://{{ include "evshare.fullname" $root }}-nats:4222"
{{- else }}
{{- $nats := $root.Values.external.nats }}
{{- if not (or $nats.url $nats.urlSecret.name) }}
{{- fail "mode=production needs external.nats.url or external.nats.urlSecret.name" }}
{{- end }}
{{ include "evshare.envFrom" (dict "name" "NATS_URL" "value" $nats.url "secret" $nats.urlSecret) }}
{{- end }}
- name: NATS_USER
  value: {{ include "evshare.natsUser" . | quote }}
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef: {{ include "evshare.natsSecretRef" . }}
{{- end }}

{{/* REDIS_* and CACHE_REDIS_URL for the mode (services with "redis" in `backends`). */}}
{{- define "evshare.redisEnv" -}}
{{- $fullname := include "evshare.fullname" . }}
{{- if eq .Values.mode "development" }}
- name: REDIS_URL
  value: "redis://{{ $fullname }}-redis:6379"
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "evshare.secretName" . }}
      key: redis-password
{{- else }}
{{- $redis := .Values.external.redis }}
{{- $redisUrl := or $redis.url $redis.urlSecret.name }}
{{- $ways := 0 }}
{{- range (list $redisUrl $redis.sentinels $redis.clusterNodes) }}{{ if . }}{{ $ways = add1 $ways }}{{ end }}{{ end }}
{{- if ne (int $ways) 1 }}
{{- fail "mode=production needs exactly one of external.redis.url (or urlSecret), external.redis.sentinels, external.redis.clusterNodes" }}
{{- end }}
{{- if $redisUrl }}
{{ include "evshare.envFrom" (dict "name" "REDIS_URL" "value" $redis.url "secret" $redis.urlSecret) }}
{{- else if $redis.sentinels }}
- name: REDIS_SENTINELS
  value: {{ $redis.sentinels | quote }}
- name: REDIS_SENTINEL_NAME
  value: {{ required "external.redis.sentinelName (the master name) is needed with external.redis.sentinels" $redis.sentinelName | quote }}
{{- else }}
- name: REDIS_CLUSTER_NODES
  value: {{ $redis.clusterNodes | quote }}
{{- end }}
{{- if $redis.passwordSecret.name }}
{{ include "evshare.envFrom" (dict "name" "REDIS_PASSWORD" "secret" $redis.passwordSecret) }}
{{- end }}
{{- if or $redis.cacheUrl $redis.cacheUrlSecret.name }}
{{ include "evshare.envFrom" (dict "name" "CACHE_REDIS_URL" "value" $redis.cacheUrl "secret" $redis.cacheUrlSecret) }}
{{- end }}
{{- end }}
{{- end }}

{{/* DATABASE_URL (and PGPASSWORD in development) for the mode (services with "postgres" in `backends`). */}}
{{- define "evshare.postgresEnv" -}}
{{- if eq .Values.mode "development" }}
# pg reads the password from PGPASSWORD, so it needs no URL escaping.
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "evshare.secretName" . }}
      key: postgres-password
- name: DATABASE_URL
  value: "postgres://{{ .Values.development.postgres.username }}@{{ include "evshare.fullname" . }}-postgres:5432/{{ .Values.development.postgres.database }}"
{{- else }}
{{- if not .Values.external.postgres.urlSecret.name }}
{{- fail "mode=production needs external.postgres.urlSecret.name (a Secret with the PostgreSQL URL, e.g. CloudNativePG's <cluster>-app, key uri)" }}
{{- end }}
{{ include "evshare.envFrom" (dict "name" "DATABASE_URL" "secret" .Values.external.postgres.urlSecret) }}
{{- end }}
{{- end }}

{{/*
The backing services' environment of one workload: NATS when files/nats-permissions.json declares
an identity of its name, Redis and PostgreSQL when its `backends` list them. A pod gets no
credential it does not use (web and the simulators no NATS user; the gateway no Redis or database).
Call with (dict "root" $ "name" "auth" "svc" $svc).
*/}}
{{- define "evshare.backendEnv" -}}
{{- $permissions := include "evshare.natsPermissions" .root | fromJson }}
{{- if hasKey $permissions .name }}
{{ include "evshare.natsEnv" (dict "root" .root "name" .name) }}
{{- end }}
{{- if has "redis" (.svc.backends | default list) }}
{{ include "evshare.redisEnv" .root }}
{{- end }}
{{- if has "postgres" (.svc.backends | default list) }}
{{ include "evshare.postgresEnv" .root }}
{{- end }}
{{- end }}

{{/* Pod identity from the downward API. */}}
{{- define "evshare.podEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end }}

{{/*
Where a pod may run, from the values every pod of the release shares. Call with
(dict "root" $ "component" "auth"): each topology spread constraint is the component's own (its
labelSelector added), so a service's replicas spread among themselves.
*/}}
{{- define "evshare.podScheduling" -}}
{{- $root := .root }}
{{- $selector := include "evshare.selectorLabels" (dict "root" $root "component" .component) | fromYaml }}
{{- with $root.Values.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- if $root.Values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- range $root.Values.topologySpreadConstraints }}
  - {{ toYaml (merge (deepCopy .) (dict "labelSelector" (dict "matchLabels" $selector))) | nindent 4 | trim }}
  {{- end }}
{{- end }}
{{- with $root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Is a service routed from outside (ingress or gateway)? (dict "name" n "svc" s) -> "true" or "" */}}
{{- define "evshare.routed" -}}
{{- if or (eq .name "app") .svc.ingressPaths .svc.gatewayUpstreamEnv }}true{{ end }}
{{- end }}

{{/*
Production mode refuses the development providers: `dev` top-ups credit money nobody paid and the
`dev` SMS provider shows verification codes to operators. The services refuse them too.
*/}}
{{- define "evshare.refuseDevProviders" -}}
{{- if eq .Values.mode "production" }}
{{- $payments := dig "app" "env" "PAYMENT_PROVIDERS" "" .Values.services }}
{{- range splitList "," $payments }}
{{- if eq (trim .) "dev" }}
{{- fail "mode=production refuses services.app.env.PAYMENT_PROVIDERS=dev (it confirms top-ups without payment); use hosted" }}
{{- end }}
{{- end }}
{{- if eq (dig "sms" "env" "SMS_PROVIDER" "" .Values.services | trim) "dev" }}
{{- fail "mode=production refuses services.sms.env.SMS_PROVIDER=dev (it keeps verification codes in an outbox); use http with SMS_HTTP_URL and SMS_HTTP_SIGNING_KEY" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Is the evshare gateway deployed: the entry (entrypoint gateway) or beside another one (gateway.enabled)? */}}
{{- define "evshare.gatewayDeployed" -}}
{{- if or (eq .Values.entrypoint "gateway") .Values.gateway.enabled }}true{{ end }}
{{- end }}

{{/* Does the release attach Gateway API routes? "true" or "" */}}
{{- define "evshare.gatewayAPI" -}}
{{- if or (eq .Values.entrypoint "gatewayAPI") .Values.gatewayAPI.enabled }}true{{ end }}
{{- end }}

{{/* Seconds as a Gateway API duration (10800 -> 3h, 5400 -> 1h30m); at most five digits a unit. */}}
{{- define "evshare.gatewayDuration" -}}
{{- $t := int . }}
{{- $h := div $t 3600 }}
{{- $m := div (mod $t 3600) 60 }}
{{- $s := mod $t 60 }}
{{- if $h }}{{ $h }}h{{ end }}
{{- if $m }}{{ $m }}m{{ end }}
{{- if or $s (eq $t 0) }}{{ $s }}s{{ end }}
{{- end }}
