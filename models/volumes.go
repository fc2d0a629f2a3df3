package models

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// vllmEnv is the vLLM container's environment.
func vllmEnv(s Spec) corev1.EnvVarArray {
	env := corev1.EnvVarArray{
		// Weights are on the volume; never reach the Hub.
		&corev1.EnvVarArgs{Name: pulumi.String("HF_HUB_OFFLINE"), Value: pulumi.String("1")},
		// Caches vLLM does not root at VLLM_CACHE_ROOT (Triton, HF) go to
		// the writable scratch volume, not the image.
		&corev1.EnvVarArgs{Name: pulumi.String("HOME"), Value: pulumi.String("/tmp")},
		// uid 1000 has no passwd entry in the image; getpass.getuser()
		// (torch's compile cache) falls back to these.
		&corev1.EnvVarArgs{Name: pulumi.String("USER"), Value: pulumi.String("vllm")},
		&corev1.EnvVarArgs{Name: pulumi.String("LOGNAME"), Value: pulumi.String("vllm")},
		&corev1.EnvVarArgs{Name: pulumi.String("VLLM_NO_USAGE_STATS"), Value: pulumi.String("1")},
	}
	if s.CompileCache {
		// vLLM's cache root (vllm/envs.py; default ~/.cache/vllm): its
		// torch.compile artifacts (torch_compile_cache/<hash>/rank_i_j)
		// land on the shared volume, so the next start of this model,
		// revision and image, on any node, loads them instead of
		// compiling (the first replica fills it). vLLM writes them to a
		// temporary name and renames them into place, so a replica
		// starting while another writes reads a whole artifact or none.
		env = append(env, &corev1.EnvVarArgs{Name: pulumi.String("VLLM_CACHE_ROOT"), Value: pulumi.String(CompileCacheMountPath)})
	}
	return env
}

// vllmMounts are the vLLM container's mounts: the weights read-only, the
// compile cache read-write when on, shared memory and scratch.
func vllmMounts(s Spec) corev1.VolumeMountArray {
	mounts := corev1.VolumeMountArray{
		&corev1.VolumeMountArgs{Name: pulumi.String("models"), MountPath: pulumi.String(MountPath), ReadOnly: pulumi.Bool(true)},
		&corev1.VolumeMountArgs{Name: pulumi.String("dshm"), MountPath: pulumi.String("/dev/shm")},
		&corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")},
	}
	if s.CompileCache {
		// Only this model's, revision's and image's directory is writable
		// (kubelet creates it on first use, through the access point, as
		// the volume's user).
		mounts = append(mounts, &corev1.VolumeMountArgs{
			Name: pulumi.String("compile-cache"), MountPath: pulumi.String(CompileCacheMountPath), SubPath: pulumi.String(s.CompileCacheDir()),
		})
	}
	return mounts
}

// vllmVolumes are the vLLM pod's volumes. The model claim appears twice
// when the compile cache is on: read-only for the weights, writable for
// the cache directory (a volume is read-only or not as a whole).
func vllmVolumes(s Spec, claim string, tmp *corev1.VolumeArgs) corev1.VolumeArray {
	volumes := corev1.VolumeArray{
		&corev1.VolumeArgs{Name: pulumi.String("models"), PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSourceArgs{
			ClaimName: pulumi.String(claim), ReadOnly: pulumi.Bool(true),
		}},
		// Shared memory for tensor-parallel workers (NCCL).
		&corev1.VolumeArgs{Name: pulumi.String("dshm"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{
			Medium: pulumi.String("Memory"), SizeLimit: pulumi.String(fmt.Sprintf("%dGi", 2*s.GPUsPerReplica)),
		}},
		tmp,
	}
	if s.CompileCache {
		volumes = append(volumes, &corev1.VolumeArgs{Name: pulumi.String("compile-cache"), PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSourceArgs{
			ClaimName: pulumi.String(claim),
		}})
	}
	return volumes
}
