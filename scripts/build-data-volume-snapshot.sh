#!/usr/bin/env bash
# build-data-volume-snapshot.sh: build an EBS snapshot of a Bottlerocket data
# volume (/dev/xvdb) that already holds the vLLM image, unpacked by the SOCI
# snapshotter in parallel-pull-unpack mode exactly as the GPU nodes run it,
# for gpu.dataVolumeSnapshotId (EC2NodeClass blockDeviceMappings /dev/xvdb
# ebs.snapshotID). Refresh = run it again with the new image and set the new
# snapshot id; the old snapshot is kept until you delete it.
#
# Usage: see --help, or docs/data-volume-snapshot.md.
#
# Why a throwaway builder instance, and not a snapshot of a live GPU node
# -----------------------------------------------------------------------
# (b) Snapshot a live GPU node's data volume: rejected. The data volume is all
#     of /var (bottlerocket-core-kit packages/release/var.mount rbinds
#     /local/var, and local.mount mounts BOTTLEROCKET-DATA, the xvdb
#     partition, on /local; core-kit tag v3.1.1), so it carries that node's
#     /var/lib/kubelet (its kubelet client certificate for the old node name,
#     pod volumes, device-plugin and CPU/memory manager checkpoints),
#     /var/lib/containerd's CRI sandbox and container records of the pods
#     that ran, /var/log/pods, and the writable layers of the model's
#     containers. A new node would boot with another node's identity and
#     dead pods. Snapshotting it without stopping it is only crash-consistent,
#     and stopping it disrupts a node Karpenter owns.
# (a) A builder instance that never joins a cluster: chosen. It boots the same
#     Bottlerocket release and the SAME variant as the GPU nodes
#     (aws-k8s-<k8s>-nvidia, on a g6 instance by default) with the same SOCI
#     user data plus the admin container, pulls each image through the CRI
#     image service the kubelet uses, stops, and snapshots xvdb. No kubelet
#     state, no pods, and the snapshot records the snapshotter the nodes use.
#     Why each of those matters:
#   - Same snapshotter. When Bottlerocket sees settings.container-runtime.
#     snapshotter change between boots it deletes /var/lib/containerd and
#     /var/lib/soci-snapshotter (bottlerocket-core-kit issue #580, PR #582
#     "Soci snapshotter change service", configure-snapshotter.service; the
#     container-runtime settings docs from Bottlerocket 1.45.x). A snapshot
#     built with the default overlayfs snapshotter, as aws-samples/
#     bottlerocket-images-cache snapshot.sh does with `ctr images pull`
#     (commit 3370ea0), would be wiped on our SOCI nodes.
#   - Pull through the CRI, not ctr. In parallel-pull-unpack mode the SOCI
#     snapshotter fetches each layer itself and needs the image reference and
#     layer digests that containerd's CRI attaches as snapshot labels
#     (awslabs/soci-snapshotter v0.15.0 snapshot/snapshot.go Prepare ->
#     prepareParallelPullSnapshot, fs/fs.go "unable to get image ref from
#     labels"). containerd's docs/remote-snapshotter.md names the CRI,
#     nerdctl and moby as the clients that attach them; `ctr images pull
#     --snapshotter` does not (containerd issue #11082). Upstream's own tests
#     pull with nerdctl or crictl (integration/util_test.go). Bottlerocket
#     ships neither nerdctl nor crictl (bottlerocket issue #2000), so the
#     admin container downloads crictl (checksum verified) and pulls through
#     the SOCI image-service proxy socket the kubelet uses
#     (bottlerocket-core-kit packages/soci-snapshotter/soci-config-toml:
#     [cri_keychain] image_service_path = containerd.sock, [content_store]
#     type = "containerd"), falling back to containerd's CRI socket if that
#     socket is not where Bottlerocket PR #4593 shows it. Either way the CRI
#     plugin tags the image io.cri-containerd.image=managed in namespace
#     k8s.io, so the kubelet finds it and does not pull again.
#   - Same variant. The standard and NVIDIA variants of one Kubernetes minor
#     have shipped different containerd minors (bottlerocket
#     variants/aws-k8s-1.35/Cargo.toml: containerd-2.2,
#     variants/aws-k8s-1.35-nvidia/Cargo.toml: containerd-2.1, until PR #4869
#     moved the NVIDIA variants to 2.2). A metadata database written by one
#     containerd minor and opened by another is a risk we do not need to take
#     for about $0.30 of g6.xlarge time; --variant overrides it.
#   - AMI: the public SSM parameter Karpenter v1.14.1 resolves for the alias
#     bottlerocket@v<version> (aws/karpenter-provider-aws
#     pkg/providers/amifamily/bottlerocket.go:
#     /aws/service/bottlerocket/aws-k8s-<k8s>[-nvidia]/x86_64/<version>/image_id).
#   - Size: the snapshot's size is the smallest volume made from it, and
#     Bottlerocket grows the data partition and filesystem to fill a larger
#     volume at boot (core-kit packages/release/repart-local.service), so
#     --volume-size must be <= gpu.dataVolumeGiB; keep them equal.
#   - Not with gpu.instanceStoreRaid0: Karpenter v1.14.1 adds
#     `apiclient ephemeral-storage bind` for RAID0 (pkg/providers/amifamily/
#     bootstrap/bottlerocket.go), which mounts the NVMe array over
#     /var/lib/containerd and /var/lib/soci-snapshotter (core-kit
#     packages/soci-snapshotter/ephemeral-storage.conf) and hides the image.
#
# Needs: AWS CLI v2 and credentials for ec2, ssm and (without
# --instance-profile) iam; a subnet with a route to the internet (image
# registry, GitHub for crictl, SSM) and a security group allowing HTTPS out.
# Only public images are supported: the builder has no registry credentials.
# Everything the script creates is tagged llm-platform/run=<run id> and
# removed on exit, success or failure, except the finished snapshot.
set -euo pipefail

readonly SCRIPT_NAME="${0##*/}"
# Poll interval in seconds; the tests set it to 0.
readonly POLL="${SNAPSHOT_POLL_SECONDS:-10}"
# crictl is fetched into the admin container from the cri-tools release;
# its version follows the Kubernetes minor of the pinned variant.
readonly CRICTL_VERSION="v1.35.0"
readonly NAME_TAG="llm-platform-gpu-data-volume"

# The GPU nodes' SOCI settings. They must stay identical to the
# EC2NodeClass user data (gpu package): a different snapshotter on the
# nodes wipes the cached image at first boot.
readonly SOCI_USER_DATA='[settings.container-runtime]
snapshotter = "soci"
[settings.container-runtime-plugins.soci-snapshotter]
pull-mode = "parallel-pull-unpack"
[settings.container-runtime-plugins.soci-snapshotter.parallel-pull-unpack]
max-concurrent-downloads-per-image = 20
concurrent-download-chunk-size = "16mb"
max-concurrent-unpacks-per-image = 12
discard-unpacked-layers = true'

usage() {
	cat <<EOF
Usage: $SCRIPT_NAME --region REGION --subnet-id SUBNET --security-group-id SG
         --bottlerocket-version X.Y.Z --kubernetes-version 1.N
         --image IMAGE [--image IMAGE ...] [options]

Builds an EBS snapshot of a Bottlerocket data volume with IMAGE(s) already
pulled and unpacked by the SOCI snapshotter (parallel-pull-unpack), for
gpu.dataVolumeSnapshotId. Run it again with the new image to refresh.

Required:
  --region REGION              AWS region of the cluster (snapshots are regional)
  --subnet-id SUBNET           subnet for the builder; needs a route out (NAT)
  --security-group-id SG       security group for the builder; HTTPS out
  --bottlerocket-version X.Y.Z the gpu.bottlerocketVersion the nodes pin
  --kubernetes-version 1.N     the cluster's Kubernetes minor (variant name)
  --image IMAGE                image to cache; repeat for more than one

Options:
  --volume-size GIB            data volume size, <= gpu.dataVolumeGiB (default 100)
  --kms-key-id KEY             KMS key for the volume and snapshot (default: EBS default key)
  --instance-type TYPE         builder instance type (default g6.xlarge)
  --variant NAME               Bottlerocket variant (default aws-k8s-<k8s>-nvidia)
  --instance-profile NAME      existing instance profile with AmazonSSMManagedInstanceCore
                               (default: a temporary one is created and deleted)
  -h, --help                   this help

Prints the snapshot id and the pulumi config command on stdout; progress on stderr.
EOF
}

log() { printf '%s %s\n' "$(date -u +%H:%M:%SZ)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
usage_error() {
	printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2
	printf "Run '%s --help' for usage.\n" "$SCRIPT_NAME" >&2
	exit 2
}

# json_escape STRING: STRING as the inside of a JSON string literal.
json_escape() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\n'/\\n}
	printf '%s' "$s"
}

# ---------------------------------------------------------------- arguments

REGION="" SUBNET_ID="" SECURITY_GROUP_ID="" BOTTLEROCKET_VERSION=""
KUBERNETES_VERSION="" VOLUME_SIZE=100 KMS_KEY_ID="" INSTANCE_TYPE="g6.xlarge"
VARIANT="" INSTANCE_PROFILE=""
IMAGES=()

need_value() {
	[[ $# -ge 2 && -n $2 && $2 != -* ]] || usage_error "flag $1 needs a value"
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--region) need_value "$@" && REGION=$2 && shift 2 ;;
	--subnet-id) need_value "$@" && SUBNET_ID=$2 && shift 2 ;;
	--security-group-id) need_value "$@" && SECURITY_GROUP_ID=$2 && shift 2 ;;
	--bottlerocket-version) need_value "$@" && BOTTLEROCKET_VERSION=$2 && shift 2 ;;
	--kubernetes-version) need_value "$@" && KUBERNETES_VERSION=$2 && shift 2 ;;
	--image) need_value "$@" && IMAGES+=("$2") && shift 2 ;;
	--volume-size) need_value "$@" && VOLUME_SIZE=$2 && shift 2 ;;
	--kms-key-id) need_value "$@" && KMS_KEY_ID=$2 && shift 2 ;;
	--instance-type) need_value "$@" && INSTANCE_TYPE=$2 && shift 2 ;;
	--variant) need_value "$@" && VARIANT=$2 && shift 2 ;;
	--instance-profile) need_value "$@" && INSTANCE_PROFILE=$2 && shift 2 ;;
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown argument: $1" ;;
	esac
done

missing=()
[[ -n $REGION ]] || missing+=("--region")
[[ -n $SUBNET_ID ]] || missing+=("--subnet-id")
[[ -n $SECURITY_GROUP_ID ]] || missing+=("--security-group-id")
[[ -n $BOTTLEROCKET_VERSION ]] || missing+=("--bottlerocket-version (the gpu.bottlerocketVersion the nodes pin, e.g. 1.64.0)")
[[ -n $KUBERNETES_VERSION ]] || missing+=("--kubernetes-version (e.g. 1.35)")
[[ ${#IMAGES[@]} -gt 0 ]] || missing+=("--image (e.g. vllm/vllm-openai:v0.31.0)")
if [[ ${#missing[@]} -gt 0 ]]; then
	for m in "${missing[@]}"; do
		printf '%s: missing required flag %s\n' "$SCRIPT_NAME" "$m" >&2
	done
	usage_error "${#missing[@]} required flag(s) missing"
fi

BOTTLEROCKET_VERSION=${BOTTLEROCKET_VERSION#v}
[[ $REGION =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] || usage_error "--region: '$REGION' is not a region name"
[[ $SUBNET_ID =~ ^subnet-[0-9a-f]+$ ]] || usage_error "--subnet-id: '$SUBNET_ID' is not a subnet id"
[[ $SECURITY_GROUP_ID =~ ^sg-[0-9a-f]+$ ]] || usage_error "--security-group-id: '$SECURITY_GROUP_ID' is not a security group id"
[[ $BOTTLEROCKET_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
	usage_error "--bottlerocket-version: '$BOTTLEROCKET_VERSION' must be x.y.z, the release gpu.bottlerocketVersion pins (not 'latest': the nodes must run the release the snapshot was built on)"
[[ $KUBERNETES_VERSION =~ ^1\.[0-9]+$ ]] || usage_error "--kubernetes-version: '$KUBERNETES_VERSION' must be 1.N"
# The range gpu.dataVolumeGiB accepts (config package).
if ! [[ $VOLUME_SIZE =~ ^[0-9]{1,4}$ ]] || ((10#$VOLUME_SIZE < 40 || 10#$VOLUME_SIZE > 2000)); then
	usage_error "--volume-size: '$VOLUME_SIZE' must be a whole number of GiB from 40 to 2000, and <= gpu.dataVolumeGiB"
fi
VOLUME_SIZE=$((10#$VOLUME_SIZE))
[[ $INSTANCE_TYPE =~ ^[a-z0-9-]+\.[a-z0-9-]+$ ]] || usage_error "--instance-type: '$INSTANCE_TYPE' is not an instance type"
[[ -z $INSTANCE_PROFILE || $INSTANCE_PROFILE =~ ^[A-Za-z0-9+=,.@_-]{1,128}$ ]] ||
	usage_error "--instance-profile: '$INSTANCE_PROFILE' is not an instance profile name"
VARIANT=${VARIANT:-aws-k8s-$KUBERNETES_VERSION-nvidia}
[[ $VARIANT =~ ^aws-k8s-[0-9.]+(-[a-z]+)*$ ]] || usage_error "--variant: '$VARIANT' is not an aws-k8s Bottlerocket variant"
for image in "${IMAGES[@]}"; do
	# Image references only: they are spliced into the remote commands.
	[[ $image =~ ^[a-z0-9][A-Za-z0-9._/:@-]*$ ]] || usage_error "--image: '$image' is not an image reference"
done
IMAGE_LIST="${IMAGES[*]}"
# EC2 tag values hold at most 256 characters.
((${#IMAGE_LIST} <= 256)) || usage_error "--image: the image list is ${#IMAGE_LIST} characters, the snapshot tag holds 256; build fewer images per snapshot"

command -v aws >/dev/null 2>&1 || die "the AWS CLI v2 ('aws') is not on PATH"

export AWS_REGION=$REGION AWS_DEFAULT_REGION=$REGION AWS_PAGER=""

case $REGION in
cn-*) PARTITION=aws-cn ;;
us-gov-*) PARTITION=aws-us-gov ;;
*) PARTITION=aws ;;
esac

RUN_ID="$(date -u +%Y%m%d%H%M%S)-$$"
WORKDIR=$(mktemp -d)

# ------------------------------------------------------------------ cleanup
# Everything created is recorded here and removed by cleanup on any exit.

INSTANCE_ID="" SNAPSHOT_ID="" SNAPSHOT_DONE=0 CREATED_ROLE="" CREATED_PROFILE=""
ATTACHED_POLICIES=()

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [[ -n $SNAPSHOT_ID && $SNAPSHOT_DONE != 1 ]]; then
		log "cleanup: deleting unfinished snapshot $SNAPSHOT_ID"
		aws ec2 delete-snapshot --snapshot-id "$SNAPSHOT_ID" >/dev/null ||
			log "cleanup: could not delete $SNAPSHOT_ID; delete it by hand"
	fi
	if [[ -n $INSTANCE_ID ]]; then
		log "cleanup: terminating builder $INSTANCE_ID (its volumes go with it)"
		if aws ec2 terminate-instances --instance-ids "$INSTANCE_ID" >/dev/null; then
			aws ec2 wait instance-terminated --instance-ids "$INSTANCE_ID" ||
				log "cleanup: $INSTANCE_ID not terminated yet"
		else
			log "cleanup: could not terminate $INSTANCE_ID; terminate it by hand"
		fi
	fi
	if [[ -n $CREATED_PROFILE ]]; then
		log "cleanup: deleting instance profile $CREATED_PROFILE"
		if [[ -n $CREATED_ROLE ]]; then
			aws iam remove-role-from-instance-profile --instance-profile-name "$CREATED_PROFILE" --role-name "$CREATED_ROLE"
		fi
		aws iam delete-instance-profile --instance-profile-name "$CREATED_PROFILE" ||
			log "cleanup: could not delete instance profile $CREATED_PROFILE"
	fi
	if [[ -n $CREATED_ROLE ]]; then
		log "cleanup: deleting role $CREATED_ROLE"
		local policy
		for policy in ${ATTACHED_POLICIES[@]+"${ATTACHED_POLICIES[@]}"}; do
			aws iam detach-role-policy --role-name "$CREATED_ROLE" --policy-arn "$policy"
		done
		aws iam delete-role --role-name "$CREATED_ROLE" ||
			log "cleanup: could not delete role $CREATED_ROLE"
	fi
	rm -rf "$WORKDIR"
	if ((rc != 0)); then
		log "failed (exit $rc); everything this run created has been removed"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- remote run

# remote WHERE COMMENT TIMEOUT SCRIPT: run SCRIPT on the builder through SSM
# Run Command, in the control container (WHERE=control, where apiclient
# lives) or in the admin container (WHERE=admin, through apiclient exec).
# SCRIPT travels base64-encoded so no quoting survives to the shells.
# Prints the command's standard output; fails with its output on failure.
remote() {
	local where=$1 comment=$2 timeout=$3 script=$4 b64 line params command_id status deadline
	b64=$(printf '%s' "$script" | base64 | tr -d '\n')
	case $where in
	control) line="sh -c \"\$(printf %s '$b64' | base64 -d)\"" ;;
	admin) line="apiclient exec admin bash -c \"\$(printf %s '$b64' | base64 -d)\"" ;;
	*) die "remote: unknown place $where" ;;
	esac
	params="$WORKDIR/ssm-params.json"
	printf '{"commands":["%s"],"executionTimeout":["%s"]}\n' "$(json_escape "$line")" "$timeout" >"$params"
	command_id=$(aws ssm send-command --instance-ids "$INSTANCE_ID" \
		--document-name AWS-RunShellScript --comment "${comment:0:100}" \
		--parameters "file://$params" --query Command.CommandId --output text)
	deadline=$((SECONDS + timeout + 300))
	while :; do
		# Right after send-command the invocation may not exist yet.
		status=$(aws ssm get-command-invocation --command-id "$command_id" --instance-id "$INSTANCE_ID" \
			--query Status --output text 2>/dev/null) || status=Pending
		case $status in
		Success)
			aws ssm get-command-invocation --command-id "$command_id" --instance-id "$INSTANCE_ID" \
				--query StandardOutputContent --output text
			return 0
			;;
		Failed | Cancelled | TimedOut | Cancelling)
			log "$comment: $status"
			aws ssm get-command-invocation --command-id "$command_id" --instance-id "$INSTANCE_ID" \
				--query StandardOutputContent --output text >&2 || true
			aws ssm get-command-invocation --command-id "$command_id" --instance-id "$INSTANCE_ID" \
				--query StandardErrorContent --output text >&2 || true
			return 1
			;;
		esac
		((SECONDS < deadline)) || {
			log "$comment: still $status after ${timeout}s"
			return 1
		}
		sleep "$POLL"
	done
}

# ------------------------------------------------------------------- build

log "run $RUN_ID: $VARIANT $BOTTLEROCKET_VERSION on $INSTANCE_TYPE in $REGION, images: $IMAGE_LIST"

AMI_PARAMETER="/aws/service/bottlerocket/$VARIANT/x86_64/$BOTTLEROCKET_VERSION/image_id"
AMI_ID=$(aws ssm get-parameter --name "$AMI_PARAMETER" --query Parameter.Value --output text) ||
	die "no Bottlerocket AMI at $AMI_PARAMETER (check --bottlerocket-version, --kubernetes-version, --variant)"
log "AMI $AMI_ID ($AMI_PARAMETER)"

run_tags="{Key=llm-platform/run,Value=$RUN_ID},{Key=llm-platform/purpose,Value=data-volume-snapshot-builder}"

if [[ -z $INSTANCE_PROFILE ]]; then
	# A temporary role: SSM Run Command is how the script reaches the
	# builder (no SSH, no inbound rule).
	CREATED_ROLE="llm-platform-snapshot-builder-$RUN_ID"
	log "creating temporary role and instance profile $CREATED_ROLE"
	cat >"$WORKDIR/trust.json" <<'EOF'
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}
EOF
	aws iam create-role --role-name "$CREATED_ROLE" \
		--assume-role-policy-document "file://$WORKDIR/trust.json" \
		--description "llm-platform data volume snapshot builder, run $RUN_ID (deleted when the run ends)" \
		--tags "Key=llm-platform/run,Value=$RUN_ID" >/dev/null
	policy="arn:$PARTITION:iam::aws:policy/AmazonSSMManagedInstanceCore"
	aws iam attach-role-policy --role-name "$CREATED_ROLE" --policy-arn "$policy"
	ATTACHED_POLICIES+=("$policy")
	aws iam create-instance-profile --instance-profile-name "$CREATED_ROLE" \
		--tags "Key=llm-platform/run,Value=$RUN_ID" >/dev/null
	CREATED_PROFILE=$CREATED_ROLE
	aws iam add-role-to-instance-profile --instance-profile-name "$CREATED_PROFILE" --role-name "$CREATED_ROLE"
	aws iam wait instance-profile-exists --instance-profile-name "$CREATED_PROFILE"
	INSTANCE_PROFILE=$CREATED_PROFILE
fi

# The builder's user data: the nodes' SOCI settings plus the admin
# container (superpowered: crictl and sheltie run there). No
# settings.kubernetes: it never joins a cluster.
cat >"$WORKDIR/user-data.toml" <<EOF
[settings.host-containers.admin]
enabled = true
superpowered = true
$SOCI_USER_DATA
EOF

# Only xvdb is given: xvda keeps the AMI's mapping. gp3 at 4000 IOPS and
# 1000 MiB/s for the unpack, as aws-samples/bottlerocket-images-cache
# ebs-snapshot-instance.yaml does; the snapshot does not keep them.
ebs="\"VolumeSize\":$VOLUME_SIZE,\"VolumeType\":\"gp3\",\"Iops\":4000,\"Throughput\":1000,\"Encrypted\":true,\"DeleteOnTermination\":true"
[[ -z $KMS_KEY_ID ]] || ebs+=",\"KmsKeyId\":\"$(json_escape "$KMS_KEY_ID")\""

log "launching builder"
launch_error="$WORKDIR/run-instances.err"
for attempt in 1 2 3 4 5 6 7 8 9 10 11 12; do
	if INSTANCE_ID=$(aws ec2 run-instances --image-id "$AMI_ID" --instance-type "$INSTANCE_TYPE" \
		--subnet-id "$SUBNET_ID" --security-group-ids "$SECURITY_GROUP_ID" \
		--iam-instance-profile "Name=$INSTANCE_PROFILE" \
		--user-data "file://$WORKDIR/user-data.toml" \
		--metadata-options "HttpEndpoint=enabled,HttpTokens=required,HttpPutResponseHopLimit=1" \
		--block-device-mappings "[{\"DeviceName\":\"/dev/xvdb\",\"Ebs\":{$ebs}}]" \
		--tag-specifications \
		"ResourceType=instance,Tags=[{Key=Name,Value=llm-platform-snapshot-builder},$run_tags]" \
		"ResourceType=volume,Tags=[{Key=Name,Value=llm-platform-snapshot-builder},$run_tags]" \
		--count 1 --query 'Instances[0].InstanceId' --output text 2>"$launch_error"); then
		break
	fi
	INSTANCE_ID=""
	# A new instance profile takes a few seconds to reach EC2.
	if grep -q 'Invalid IAM Instance Profile' "$launch_error" && ((attempt < 12)); then
		log "instance profile not visible to EC2 yet, retrying"
		sleep "$POLL"
		continue
	fi
	cat "$launch_error" >&2
	die "run-instances failed"
done
[[ $INSTANCE_ID == i-* ]] || die "run-instances returned no instance id"
log "builder $INSTANCE_ID launched"
aws ec2 wait instance-running --instance-ids "$INSTANCE_ID"

log "waiting for the SSM agent"
deadline=$((SECONDS + 900))
until [[ $(aws ssm describe-instance-information --filters "Key=InstanceIds,Values=$INSTANCE_ID" \
	--query 'InstanceInformationList[0].PingStatus' --output text) == Online ]]; do
	((SECONDS < deadline)) || die "$INSTANCE_ID never came online in SSM (route to the SSM endpoints? instance profile?)"
	sleep "$POLL"
done

log "checking the builder runs the nodes' snapshotter settings"
# shellcheck disable=SC2016 # expanded on the builder, not here
remote control "check soci settings" 600 'set -e
i=0
until apiclient exec admin true >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 60 ] || { echo "the admin container did not start" >&2; exit 1; }
  sleep 5
done
apiclient get settings.container-runtime | grep -q "\"snapshotter\": *\"soci\"" ||
  { echo "settings.container-runtime.snapshotter is not soci:" >&2; apiclient get settings.container-runtime >&2; exit 1; }
apiclient get settings.container-runtime-plugins | grep -q "\"pull-mode\": *\"parallel-pull-unpack\"" ||
  { echo "the SOCI pull mode is not parallel-pull-unpack:" >&2; apiclient get settings.container-runtime-plugins >&2; exit 1; }' >/dev/null

# The kubelet has no cluster to join here; keep it from starting (and from
# garbage-collecting images) while the images are pulled.
log "stopping the kubelet"
remote admin "stop kubelet" 300 'set -uo pipefail
sheltie systemctl mask --runtime --now kubelet.service ||
  { echo "warning: could not mask the kubelet; stopping it" >&2; sheltie systemctl stop kubelet.service || true; }' >/dev/null

log "installing crictl $CRICTL_VERSION in the admin container"
remote admin "install crictl" 600 "set -euo pipefail
v=$CRICTL_VERSION
f=crictl-\$v-linux-amd64.tar.gz
cd /tmp
command -v tar >/dev/null || dnf install -y -q tar
curl -fsSL --retry 3 -o \"\$f\" \"https://github.com/kubernetes-sigs/cri-tools/releases/download/\$v/\$f\"
curl -fsSL --retry 3 -o \"\$f.sha256\" \"https://github.com/kubernetes-sigs/cri-tools/releases/download/\$v/\$f.sha256\"
echo \"\$(cut -d' ' -f1 \"\$f.sha256\")  \$f\" | sha256sum -c -
tar -xzf \"\$f\" -C /usr/local/bin crictl" >/dev/null

for image in "${IMAGES[@]}"; do
	log "pulling $image through the CRI (SOCI parallel-pull-unpack)"
	remote admin "pull $image" 3600 "set -euo pipefail
root=/.bottlerocket/rootfs
runtime=unix://\$root/run/containerd/containerd.sock
images=\$root/run/soci-snapshotter/soci-snapshotter.sock
if [ ! -S \"\$images\" ]; then
  echo \"no SOCI image service socket at \$images; pulling through containerd's CRI\" >&2
  images=\$root/run/containerd/containerd.sock
fi
/usr/local/bin/crictl --runtime-endpoint \"\$runtime\" --image-endpoint \"unix://\$images\" --timeout 30s pull --pull-timeout 55m '$image'
/usr/local/bin/crictl --runtime-endpoint \"\$runtime\" --image-endpoint \"unix://\$images\" inspecti '$image' >/dev/null" >/dev/null
done

log "checking the layers are SOCI snapshots, then sealing the volume"
# shellcheck disable=SC2016 # expanded on the builder, not here
remote admin "verify and seal" 600 'set -euo pipefail
n=$(sheltie ctr -a /run/containerd/containerd.sock -n k8s.io snapshots --snapshotter soci ls | tail -n +2 | wc -l)
[ "$n" -gt 0 ] || { echo "no snapshots in the soci snapshotter: the images were not unpacked by SOCI" >&2; exit 1; }
echo "soci snapshots: $n"
sheltie sync' >/dev/null

log "stopping builder"
aws ec2 stop-instances --instance-ids "$INSTANCE_ID" >/dev/null
aws ec2 wait instance-stopped --instance-ids "$INSTANCE_ID"

DATA_VOLUME_ID=$(aws ec2 describe-instances --instance-ids "$INSTANCE_ID" \
	--query "Reservations[0].Instances[0].BlockDeviceMappings[?DeviceName=='/dev/xvdb'].Ebs.VolumeId | [0]" \
	--output text)
[[ $DATA_VOLUME_ID == vol-* ]] || die "no /dev/xvdb volume on $INSTANCE_ID"

log "snapshotting $DATA_VOLUME_ID (/dev/xvdb)"
tag() { printf '{"Key":"%s","Value":"%s"}' "$(json_escape "$1")" "$(json_escape "$2")"; }
tags=$(
	IFS=,
	items=(
		"$(tag Name "$NAME_TAG")"
		"$(tag llm-platform/images "$IMAGE_LIST")"
		"$(tag llm-platform/bottlerocket "$BOTTLEROCKET_VERSION")"
		"$(tag llm-platform/variant "$VARIANT")"
		"$(tag llm-platform/snapshotter "soci parallel-pull-unpack")"
		"$(tag llm-platform/run "$RUN_ID")"
	)
	printf '[{"ResourceType":"snapshot","Tags":[%s]}]' "${items[*]}"
)
description="Bottlerocket $VARIANT $BOTTLEROCKET_VERSION data volume, SOCI parallel-pull-unpack: $IMAGE_LIST"
SNAPSHOT_ID=$(aws ec2 create-snapshot --volume-id "$DATA_VOLUME_ID" \
	--description "${description:0:255}" --tag-specifications "$tags" \
	--query SnapshotId --output text)
[[ $SNAPSHOT_ID == snap-* ]] || die "create-snapshot returned no snapshot id"
log "snapshot $SNAPSHOT_ID started; waiting for it to complete (the first one copies every written block)"

# Polled rather than `aws ec2 wait snapshot-completed`, which gives up after
# ten minutes.
deadline=$((SECONDS + 7200))
while :; do
	state=$(aws ec2 describe-snapshots --snapshot-ids "$SNAPSHOT_ID" --query 'Snapshots[0].State' --output text)
	case $state in
	completed) break ;;
	error | recoverable | recovering) die "snapshot $SNAPSHOT_ID is in state $state" ;;
	esac
	((SECONDS < deadline)) || die "snapshot $SNAPSHOT_ID not complete after two hours"
	sleep "$POLL"
done
SNAPSHOT_DONE=1
log "snapshot $SNAPSHOT_ID completed; the builder and its volumes are removed next"

printf '%s\n' "$SNAPSHOT_ID"
printf 'pulumi config set --path gpu.dataVolumeSnapshotId %s\n' "$SNAPSHOT_ID"
