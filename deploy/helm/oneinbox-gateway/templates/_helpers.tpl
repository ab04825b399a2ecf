{{- /* Names and labels shared by every manifest of the chart. */ -}}
{{- define "gateway.selectorLabels" -}}
app.kubernetes.io/name: oneinbox-gateway
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gateway.labels" -}}
{{ include "gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: gateway
app.kubernetes.io/part-of: oneinbox-gateway
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- /* The ConfigMap's data: rendered here once so the pods' checksum/config follows it. */ -}}
{{- define "gateway.configData" -}}
GATEWAY_ENV: "production"
{{- range $name, $value := .Values.config }}
{{- if $value }}
{{ $name }}: {{ $value | quote }}
{{- end }}
{{- end }}
{{- if .Values.gatewayToml }}
GATEWAY_CONFIG: "/config/gateway.toml"
{{- end }}
{{- end }}

{{- /* Secret references: the required ones fail the pod when missing (no silent local mode). */ -}}
{{- define "gateway.secretEnv" -}}
{{- range $name, $key := .Values.secrets.required }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secrets.existingSecret }}
      key: {{ $key }}
{{- end }}
{{- range $name, $key := .Values.secrets.optional }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secrets.existingSecret }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end }}
