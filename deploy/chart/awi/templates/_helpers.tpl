{{/* Labels Helm users expect on every object, besides the base's own. */}}
{{- define "awi.labels" -}}
app.kubernetes.io/part-of: awi
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "awi.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{/* The platform config as YAML text: the value (string or map), else the example. */}}
{{- define "awi.config" -}}
{{- if kindIs "map" .Values.config -}}
{{ toYaml .Values.config }}
{{- else if .Values.config -}}
{{ .Values.config }}
{{- else -}}
{{ .Files.Get "files/platform-config.yaml" }}
{{- end -}}
{{- end }}
