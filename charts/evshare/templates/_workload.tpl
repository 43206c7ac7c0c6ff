{{/*
One evshare process: Deployment, Service and PodDisruptionBudget. Every service of `services` and
the gateway are rendered by this, so a new service is one values entry.
Call with (dict "root" $ "name" "auth" "svc" $svc "extraEnv" (list of env entries)).
The `app` service is special: the operator scales it and owns its Service, so it gets neither
`replicas` (a value here would undo the operator's scaling on every `helm upgrade`) nor a Service.
*/}}
{{- define "evshare.workload" -}}
{{- $root := .root }}
{{- $name := .name }}
{{- $svc := .svc }}
{{- $fullname := include "evshare.fullname" $root }}
{{- $ctx := dict "root" $root "component" $name }}
{{- $scaledByOperator := eq $name "app" }}
{{- $probes := mergeOverwrite (deepCopy $root.Values.probes) (deepCopy ($svc.probes | default dict)) }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}-{{ $name }}
  labels:
    {{- include "evshare.labels" $ctx | nindent 4 }}
spec:
  {{- if not $scaledByOperator }}
  replicas: {{ $svc.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "evshare.selectorLabels" $ctx | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # New pods become ready before old ones go: no capacity dip during an upgrade.
      maxUnavailable: 0
      maxSurge: 25%
  template:
    metadata:
      labels:
        {{- include "evshare.labels" $ctx | nindent 8 }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $svc.adminPort | default $svc.port | quote }}
        prometheus.io/path: /metrics
        {{- with $root.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ $fullname }}-workload
      # The services never call the Kubernetes API.
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ $svc.terminationGracePeriodSeconds }}
      securityContext:
        {{- include "evshare.podSecurityContext" (dict "root" $root "uid" 10001) | nindent 8 }}
      {{- with include "evshare.podScheduling" $ctx }}
      {{- . | trim | nindent 6 }}
      {{- end }}
      containers:
        - name: {{ $name }}
          image: {{ include "evshare.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: [{{ $svc.process | default $name | quote }}{{ range $svc.args }}, {{ tpl . $root | quote }}{{ end }}]
          ports:
            - name: http
              containerPort: {{ $svc.port }}
              protocol: TCP
            {{- range $svc.publicPorts }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: TCP
            {{- end }}
            {{- if and $scaledByOperator (eq $root.Values.entrypoint "haproxy") }}
            # HAProxy's agent check: the pod's own weight, maxconn and drain state.
            - name: agent
              containerPort: {{ $root.Values.appServiceGroup.haproxy.agentPort }}
              protocol: TCP
            {{- end }}
            {{- with $svc.adminPort }}
            # Operators only: not in the Service, reachable as the NetworkPolicy allows.
            - name: admin
              containerPort: {{ . }}
              protocol: TCP
            {{- end }}
          env:
            - name: PORT
              value: {{ $svc.port | quote }}
            # The services bind to loopback by default (safe for `make run`); a pod must listen on its IP.
            - name: HOST
              value: "0.0.0.0"
            - name: LOG_LEVEL
              value: {{ $root.Values.logLevel | quote }}
            # Development shortcuts (top-ups without payment, the SMS outbox) follow the mode.
            - name: NODE_ENV
              value: {{ ternary "development" "production" (eq $root.Values.mode "development") }}
            {{- if and (eq $root.Values.mode "production") (eq $name "auth") }}
            # Production is reached over TLS: the session cookie (set by auth) is never sent in clear.
            - name: COOKIE_SECURE
              value: "true"
            {{- end }}
            # Before the service's own variables, so they can use $(POD_IP) (e.g. PUBLIC_URL).
            - name: POD_IP
              valueFrom:
                fieldRef:
                  fieldPath: status.podIP
            {{- include "evshare.podEnv" $root | nindent 12 }}
            {{- with include "evshare.backendEnv" (dict "root" $root "name" $name "svc" $svc) | trim }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- range $key, $value := $svc.env }}
            - name: {{ $key }}
              value: {{ tpl $value $root | quote }}
            {{- end }}
            {{- if has $name (list "app" "gateway") }}
            # APP signs its announcements and load reports with it; the gateway accepts only signed ones.
            - name: MEMBERSHIP_SIGNING_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ include "evshare.secretName" $root }}
                  key: membership-signing-key
            {{- end }}
            {{- if $root.Values.appKeys.enabled }}
            {{- if eq $name "app" }}
            # Signs members' offline app keys; no other pod holds it.
            - name: APP_KEY_PRIVATE_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ include "evshare.secretName" $root }}
                  key: app-key-private-key
            {{- else if eq ($svc.process | default $name) "vehicle" }}
            # The simulated terminals verify app keys offline with the public half, as real ones do.
            - name: APP_KEY_PUBLIC_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ include "evshare.secretName" $root }}
                  key: app-key-public-key
            {{- end }}
            {{- end }}
            {{- range $key, $secretKey := $svc.secretEnv }}
            - name: {{ $key }}
              valueFrom:
                secretKeyRef:
                  name: {{ include "evshare.secretName" $root }}
                  key: {{ $secretKey }}
            {{- end }}
            {{- if and $scaledByOperator (eq $root.Values.entrypoint "haproxy") }}
            - name: LOAD_AGENT_PORT
              value: {{ $root.Values.appServiceGroup.haproxy.agentPort | quote }}
            {{- end }}
            {{- with .extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          # Startup covers migrations and the first connections; liveness only asks "is the
          # event loop alive", never about dependencies, so a Redis outage does not restart pods.
          startupProbe:
            httpGet: { path: /healthz, port: http }
            {{- toYaml $probes.startup | nindent 12 }}
          livenessProbe:
            httpGet: { path: /healthz, port: http }
            {{- toYaml $probes.liveness | nindent 12 }}
          readinessProbe:
            httpGet: { path: /readyz, port: http }
            {{- toYaml $probes.readiness | nindent 12 }}
          {{- if $svc.preStopSleepSeconds }}
          lifecycle:
            preStop:
              # A terminating pod leaves the endpoints asynchronously: keep serving until kube-proxy
              # and the ingress controller have dropped it, then SIGTERM starts the drain.
              exec:
                command: ["sleep", {{ $svc.preStopSleepSeconds | quote }}]
          {{- end }}
          resources:
            {{- toYaml $svc.resources | nindent 12 }}
          securityContext:
            {{- include "evshare.containerSecurityContext" (dict "root" $root "uid" 10001) | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- range $svc.secretVolumes }}
            - name: {{ .name }}
              mountPath: {{ .mountPath }}
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- range $svc.secretVolumes }}
        - name: {{ .name }}
          secret:
            secretName: {{ tpl .secretName $root }}
        {{- end }}
{{- if not $scaledByOperator }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}-{{ $name }}
  labels:
    {{- include "evshare.labels" $ctx | nindent 4 }}
spec:
  type: {{ ($svc.service | default dict).type | default "ClusterIP" }}
  selector:
    {{- include "evshare.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: http
      port: {{ $svc.port }}
      targetPort: http
      protocol: TCP
      {{- with ($svc.service | default dict).nodePort }}
      nodePort: {{ . }}
      {{- end }}
    {{- range $svc.publicPorts }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
      protocol: TCP
      {{- with .nodePort }}
      nodePort: {{ . }}
      {{- end }}
    {{- end }}
{{- end }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $fullname }}-{{ $name }}
  labels:
    {{- include "evshare.labels" $ctx | nindent 4 }}
spec:
  maxUnavailable: {{ $svc.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "evshare.selectorLabels" $ctx | nindent 6 }}
{{- end }}
