{{/*
The prefix of every object's name. A release named tailor (the README's)
gives tailor-scheduler and tailor-launcher, the names manifests/ uses, so the
chart and the plain YAML install the same objects.
*/}}
{{- define "tailor.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tailor.scheduler.name" -}}{{ include "tailor.fullname" . }}-scheduler{{- end -}}
{{- define "tailor.launcher.name" -}}{{ include "tailor.fullname" . }}-launcher{{- end -}}
{{/* The disruption loop's Lease; the scheduler's RBAC grants exactly it. */}}
{{- define "tailor.disruption.lease" -}}{{ include "tailor.fullname" . }}-disruption{{- end -}}

{{/* Labels on every object. */}}
{{- define "tailor.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: tailor
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.additionalLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Selector labels of a component: app.kubernetes.io/name is the component's
object name, as in manifests/, so the selectors (immutable on a Deployment)
match the plain YAML's.
Call with (list $ "scheduler").
*/}}
{{- define "tailor.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include (printf "tailor.%s.name" (index . 1)) $root }}
{{- end -}}

{{/* The image, by digest when one is given: a tag can move, a digest cannot. */}}
{{- define "tailor.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
A component's ServiceAccount annotations: serviceAccount.annotations (the
Karpenter value, for both) under the component's own, which win, because
the scheduler and the launcher have different IAM roles.
Call with (list $ "scheduler").
*/}}
{{- define "tailor.serviceAccountAnnotations" -}}
{{- $root := index . 0 -}}
{{- $own := (index $root.Values (index . 1)).serviceAccount.annotations | default dict -}}
{{- $shared := $root.Values.serviceAccount.annotations | default dict -}}
{{- $all := merge (deepCopy $own) $shared -}}
{{- with $all }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A component's resources: controller.resources (the Karpenter value, for
both) under the component's own, which win key by key.
*/}}
{{- define "tailor.resources" -}}
{{- $root := index . 0 -}}
{{- $own := (index $root.Values (index . 1)).resources | default dict -}}
{{- merge (deepCopy $own) (deepCopy ($root.Values.controller.resources | default dict)) | toYaml -}}
{{- end -}}

{{/*
The pod spec both components share: placement, priority and security.
affinity, when set, replaces the component's own (given as the second
element); topologySpreadConstraints get the component's selector when they
name none, so each Deployment spreads its own pods.
Call with (list $ "scheduler" $defaultAffinity).
*/}}
{{- define "tailor.podPlacement" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- $affinity := $root.Values.affinity | default (index . 2) -}}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $root.Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.topologySpreadConstraints }}
topologySpreadConstraints:
{{- range . }}
  - {{ toYaml (merge (deepCopy .) (dict "labelSelector" (dict "matchLabels" (fromYaml (include "tailor.selectorLabels" (list $root $component)))))) | indent 4 | trim }}
{{- end }}
{{- end }}
{{- end -}}

{{/* klog verbosity for logLevel, Karpenter's names. */}}
{{- define "tailor.verbosity" -}}
{{- $levels := dict "error" "0" "warn" "1" "info" "2" "debug" "4" -}}
{{- index $levels .Values.logLevel | default "2" -}}
{{- end -}}
