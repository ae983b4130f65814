package volumetopology

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func reader(t *testing.T, objs ...any) Reader {
	t.Helper()
	index := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	claims, volumes, classes := index(), index(), index()
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *corev1.PersistentVolumeClaim:
			err = claims.Add(o)
		case *corev1.PersistentVolume:
			err = volumes.Add(o)
		case *storagev1.StorageClass:
			err = classes.Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return Reader{Claims: corelisters.NewPersistentVolumeClaimLister(claims), Volumes: corelisters.NewPersistentVolumeLister(volumes),
		Classes: storagelisters.NewStorageClassLister(classes)}
}

func claim(name, class, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "db"},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To(class), VolumeName: volume}}
}

func zonal(name string, zones ...string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: zoneLabel, Operator: corev1.NodeSelectorOpIn, Values: zones}},
		}}}},
	}}
}

func class(name string, mode storagev1.VolumeBindingMode, zones ...string) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: "ebs.csi.aws.com", VolumeBindingMode: &mode}
	if len(zones) > 0 {
		sc.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: zoneLabel, Values: zones}}}}
	}
	return sc
}

func podWith(affinity *corev1.NodeSelector, claims ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0", Namespace: "db"}}
	for _, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: c, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	if affinity != nil {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: affinity}}
	}
	return p
}

func in(key string, values ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: corev1.NodeSelectorOpIn, Values: values}
}

func terms(ts ...[]corev1.NodeSelectorRequirement) []corev1.NodeSelectorTerm {
	var out []corev1.NodeSelectorTerm
	for _, t := range ts {
		out = append(out, corev1.NodeSelectorTerm{MatchExpressions: t})
	}
	return out
}

func TestConstrain(t *testing.T) {
	wffc, immediate := storagev1.VolumeBindingWaitForFirstConsumer, storagev1.VolumeBindingImmediate
	arch := in(corev1.LabelArchStable, "arm64")
	for _, tc := range []struct {
		name    string
		objs    []any
		pod     *corev1.Pod
		want    []corev1.NodeSelectorTerm
		same    bool
		wantErr string
	}{
		{name: "no volumes", pod: podWith(nil), same: true},
		{name: "bound to a zonal volume", objs: []any{claim("data", "gp3", "pv-1"), zonal("pv-1", "us-east-1c")},
			pod: podWith(nil, "data"), want: terms([]corev1.NodeSelectorRequirement{in(zoneLabel, "us-east-1c")})},
		{name: "zone label of a regional volume", objs: []any{claim("data", "gp3", "pv-1"),
			&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1", Labels: map[string]string{deprecatedZoneLabel: "us-east-1a__us-east-1b"}}}},
			pod: podWith(nil, "data"), want: terms([]corev1.NodeSelectorRequirement{in(zoneLabel, "us-east-1a", "us-east-1b")})},
		{name: "unbound, WaitForFirstConsumer with allowed topologies", objs: []any{claim("data", "zonal-gp3", ""), class("zonal-gp3", wffc, "us-east-1b")},
			pod: podWith(nil, "data"), want: terms([]corev1.NodeSelectorRequirement{in(zoneLabel, "us-east-1b")})},
		{name: "unbound, WaitForFirstConsumer anywhere", objs: []any{claim("data", "gp3", ""), class("gp3", wffc)},
			pod: podWith(nil, "data"), same: true},
		{name: "unbound, Immediate: waits for its volume", objs: []any{claim("data", "gp3", ""), class("gp3", immediate, "us-east-1b")},
			pod: podWith(nil, "data"), same: true},
		{name: "ANDed with each of the pod's own terms", objs: []any{claim("data", "gp3", "pv-1"), zonal("pv-1", "us-east-1c")},
			pod:  podWith(&corev1.NodeSelector{NodeSelectorTerms: terms([]corev1.NodeSelectorRequirement{arch}, []corev1.NodeSelectorRequirement{in("team", "a")})}, "data"),
			want: terms([]corev1.NodeSelectorRequirement{arch, in(zoneLabel, "us-east-1c")}, []corev1.NodeSelectorRequirement{in("team", "a"), in(zoneLabel, "us-east-1c")})},
		{name: "two volumes", objs: []any{claim("a", "gp3", "pv-a"), zonal("pv-a", "us-east-1a", "us-east-1b"), claim("b", "gp3", "pv-b"), zonal("pv-b", "us-east-1b")},
			pod:  podWith(nil, "a", "b"),
			want: terms([]corev1.NodeSelectorRequirement{in(zoneLabel, "us-east-1a", "us-east-1b"), in(zoneLabel, "us-east-1b")})},
		{name: "claim missing", pod: podWith(nil, "data"), wantErr: "PersistentVolumeClaim db/data does not exist"},
		{name: "volume missing", objs: []any{claim("data", "gp3", "pv-1")}, pod: podWith(nil, "data"), wantErr: "bound to PersistentVolume pv-1, which does not exist"},
		{name: "class missing", objs: []any{claim("data", "gp3", "")}, pod: podWith(nil, "data"), wantErr: "StorageClass gp3, which does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.pod.DeepCopy()
			got, err := reader(t, tc.objs...).Constrain(tc.pod)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(tc.pod, before) {
				t.Error("the pod given was changed, not copied")
			}
			if tc.same {
				if got != tc.pod {
					t.Error("a pod its volumes do not constrain was copied")
				}
				return
			}
			have := got.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
			if !equality.Semantic.DeepEqual(have, tc.want) {
				t.Errorf("terms %+v, want %+v", have, tc.want)
			}
		})
	}
}
