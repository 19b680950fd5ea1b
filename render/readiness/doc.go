// Package readiness decides whether one observed Kubernetes object is
// ready, not ready yet, or failed.
//
// The sync hook gets every child as Metacontroller observed it, decoded from
// JSON into map[string]any, and holds back the dependants of a resource
// until Judge says Ready. Judge is therefore a pure function of one object:
// no clocks, no API calls, no memory of earlier calls. Timeouts
// (timeoutSeconds) belong to the caller, which knows when a resource was
// first emitted.
//
// Objects are matched by API group and kind, taken from apiVersion and kind.
// Integer fields may arrive as float64 (encoding/json), json.Number
// (Decoder.UseNumber) or any Go integer type (YAML decoders, hand-built
// objects); all are accepted, and a field of any other shape reads as
// absent.
//
// # Rules, in the order they are applied
//
//   - Any object with metadata.deletionTimestamp is NotReady/Terminating.
//   - Deployment, StatefulSet, DaemonSet (group apps): NotReady/
//     ObservedGenerationStale while status.observedGeneration is absent or
//     below metadata.generation.
//   - Namespace: Ready when status.phase is Active.
//   - ConfigMap, Secret, ServiceAccount, ResourceQuota, LimitRange, Role,
//     RoleBinding, ClusterRole, ClusterRoleBinding, NetworkPolicy,
//     PodDisruptionBudget, CronJob: Ready once they exist.
//   - Service: Ready, except type LoadBalancer needs an entry in
//     status.loadBalancer.ingress.
//   - Deployment: Failed when the Progressing condition has reason
//     ProgressDeadlineExceeded; otherwise Ready when updatedReplicas and
//     availableReplicas both reach R = spec.replicas (1 when absent).
//   - StatefulSet: Ready when readyReplicas and updatedReplicas reach R. An
//     absent updatedReplicas counts as readyReplicas when currentRevision
//     equals updateRevision.
//   - DaemonSet: Ready when numberReady and updatedNumberScheduled reach
//     desiredNumberScheduled.
//   - Job (group batch): Failed=True is Failed with the condition's reason,
//     Complete=True is Ready, anything else is NotReady.
//   - Ingress: Ready once it exists.
//   - PersistentVolumeClaim: Bound is Ready, Lost is Failed.
//   - Pod: Running with Ready=True, or Succeeded, is Ready; Failed is Failed.
//   - Anything else: NotReady while a present status.observedGeneration is
//     below metadata.generation; then a Ready condition decides (True is
//     Ready, anything else NotReady with the condition's reason and
//     message), else an Available condition decides the same way, else the
//     object is Ready because it exists and reports nothing more.
//
// # Deviations from Tenant Operator v1.0 (reference §6)
//
// Upstream matched on kind alone. We match on group and kind, so a custom
// resource named Deployment or Job falls to the generic rule instead of
// being judged by counters it does not have.
//
// Upstream's rules never look at deletionTimestamp, so an object being
// deleted could release its dependants. Terminating objects are never Ready here.
//
// Upstream treated spec.replicas: 0 as 1 for Deployments and StatefulSets,
// so a workload scaled to zero never became ready and blocked everything
// after it. Zero replicas are ready at zero here.
//
// Upstream required generation == observedGeneration for Deployments. We
// require observedGeneration >= generation, and apply the same guard to
// DaemonSets, which upstream did not check at all, so a DaemonSet whose
// template had just changed looked ready with the old pods.
//
// Upstream waited out timeoutSeconds on a Deployment whose rollout had
// already given up. ProgressDeadlineExceeded is reported as Failed at once,
// the way kubectl rollout status does.
//
// Upstream read an absent StatefulSet updatedReplicas as 0. We count it as
// readyReplicas when currentRevision equals updateRevision, i.e. when no
// rollout is pending. Beyond the reference we also skip the update check for updateStrategy OnDelete
// (pods change only when a human deletes them) and lower it by a rolling
// update partition, as kubectl rollout status does; both would otherwise
// block dependants forever. DaemonSets with OnDelete skip the update check
// for the same reason.
//
// Upstream required desiredNumberScheduled > 0 for DaemonSets, so a
// DaemonSet with no eligible nodes never became ready. Zero desired is ready.
// Upstream also did not check updatedNumberScheduled; we do.
//
// Upstream's Job rule fell back to status.succeeded > 0, which calls a
// Job with completions: 5 ready after its first pod, and it treated a Failed
// Job as merely not ready until the timeout. Only the Complete condition
// makes a Job ready here, and Failed=True is Failed. A suspended Job is
// reported as JobSuspended rather than running.
//
// Upstream's Ingress rule (a load-balancer address or non-empty
// spec.rules) was effectively always true, since nearly every Ingress has
// rules, while an Ingress with only a defaultBackend waited forever. We say
// what the rule amounted to: an Ingress is ready once it exists. Many
// ingress controllers never publish an address, so waiting for one would
// block dependants on those clusters.
//
// Upstream had no PersistentVolumeClaim failure state; Lost is Failed here.
// A claim whose storage class uses WaitForFirstConsumer stays Pending until
// a pod mounts it, so nothing that mounts such a claim may depend on it (or
// the claim must not wait for readiness); that is a template rule, not
// something this package can see from the claim alone.
//
// Upstream had no Pod rule: Pods went through the generic rule, so a
// Succeeded Pod (Ready=False once its containers exit) never became ready.
//
// Upstream's generic rule required a Ready=True condition whenever
// status.conditions was non-empty, so kinds that report other conditions
// (HorizontalPodAutoscaler, PodDisruptionBudget, many CRDs) never became
// ready. We fall back to an Available condition, then to "exists". We also
// honour status.observedGeneration when present, and a condition's own
// observedGeneration (metav1.Condition) when it is older than the object,
// since either means the condition describes an older spec.
//
// Upstream's Namespace rule is kept, with a missing status (a Namespace
// created a moment ago) reading as NotReady.
package readiness
