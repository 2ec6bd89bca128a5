{{/* Release-scoped name, cut to the 63 characters Kubernetes allows (less a role suffix). */}}
{{- define "cxstream.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cxstream.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector of one role's pods: call with (dict "root" $ "role" $name). */}}
{{- define "cxstream.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{/* Selector of every worker of the release. */}}
{{- define "cxstream.workerLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cxstream.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "cxstream.tokenSecret" -}}
{{- default (printf "%s-web-token" (include "cxstream.fullname" .)) .Values.web.token.existingSecret -}}
{{- end -}}

{{/* The topic a role consumes, for lag-based autoscaling. */}}
{{- define "cxstream.inputTopic" -}}
{{- $prefix := .root.Values.kafka.topicPrefix -}}
{{- if eq .role "scoring" -}}{{ printf "%sinteractions" $prefix }}
{{- else if eq .role "workflow" -}}{{ printf "%sinternal.scored" $prefix }}
{{- else -}}{{ fail (printf "roles.%s cannot autoscale on lag: only scoring and workflow can (the spine's resolve stage reads one partition)" .role) }}
{{- end -}}
{{- end -}}

{{/* The CXSTREAM_KAFKA_* settings of kafka.security (none for PLAINTEXT): README settings. */}}
{{- define "cxstream.kafkaSecurityEnv" -}}
{{- $sec := .Values.kafka.security -}}
{{- if not (has $sec.protocol (list "PLAINTEXT" "SSL" "SASL_PLAINTEXT" "SASL_SSL")) -}}
{{- fail (printf "kafka.security.protocol=%s: choose PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL" $sec.protocol) -}}
{{- end -}}
{{- if ne $sec.protocol "PLAINTEXT" }}
- name: CXSTREAM_KAFKA_SECURITY_PROTOCOL
  value: {{ $sec.protocol | quote }}
{{- end }}
{{- if hasPrefix "SASL_" $sec.protocol }}
- name: CXSTREAM_KAFKA_SASL_MECHANISM
  value: {{ $sec.saslMechanism | quote }}
- name: CXSTREAM_KAFKA_USERNAME
  value: {{ required "kafka.security.username: a SASL protocol needs the user name" $sec.username | quote }}
- name: CXSTREAM_KAFKA_PASSWORD_FILE
  value: /etc/cxstream/kafka-sasl/{{ $sec.passwordSecret.key }}
{{- end }}
{{- with $sec.tlsSecret }}
{{- if .name }}
{{- if .caKey }}
- name: CXSTREAM_KAFKA_SSL_CAFILE
  value: /etc/cxstream/kafka-tls/{{ .caKey }}
{{- end }}
{{- if .certKey }}
- name: CXSTREAM_KAFKA_SSL_CERTFILE
  value: /etc/cxstream/kafka-tls/{{ .certKey }}
{{- end }}
{{- if .keyKey }}
- name: CXSTREAM_KAFKA_SSL_KEYFILE
  value: /etc/cxstream/kafka-tls/{{ .keyKey }}
{{- end }}
{{- end }}
{{- end }}
{{- if not $sec.checkHostname }}
- name: CXSTREAM_KAFKA_SSL_CHECK_HOSTNAME
  value: "false"
{{- end }}
{{- end -}}
