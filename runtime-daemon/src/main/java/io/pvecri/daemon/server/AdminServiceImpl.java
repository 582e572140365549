package io.pvecri.daemon.server;

import io.grpc.stub.StreamObserver;
import io.pvecri.daemon.Version;
import io.pvecri.daemon.errors.CriException;
import io.pvecri.daemon.util.Log;
import io.pvecri.image.GcResult;
import io.pvecri.image.ImageGc;
import io.pvecri.image.ImageRecord;
import io.pvecri.image.ImageStore;
import io.pvecri.proto.admin.v1.CollectImageGarbageRequest;
import io.pvecri.proto.admin.v1.CollectImageGarbageResponse;
import io.pvecri.proto.admin.v1.CollectedImage;
import io.pvecri.proto.admin.v1.AdminServiceGrpc;
import io.pvecri.proto.admin.v1.DaemonInfoRequest;
import io.pvecri.proto.admin.v1.DaemonInfoResponse;
import io.pvecri.proto.admin.v1.ImportImageRequest;
import io.pvecri.proto.admin.v1.ImportImageResponse;
import io.pvecri.proto.admin.v1.ImportedImage;
import io.pvecri.proto.admin.v1.ListGpuAllocationsRequest;
import io.pvecri.proto.admin.v1.ListGpuAllocationsResponse;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Supplier;

/** pve-cri's own service on the CRI socket: image import for air-gapped nodes, image GC on demand, daemon info, GPU allocations. */
final class AdminServiceImpl extends AdminServiceGrpc.AdminServiceImplBase {
    private static final Log LOG = Log.get(AdminServiceImpl.class);

    private final ImageStore images;
    private final ImageGc gc;
    private final String backend;
    private final Path stateDir;
    private final Instant startedAt;
    private final Supplier<ListGpuAllocationsResponse> gpuAllocations;

    AdminServiceImpl(ImageStore images, ImageGc gc, String backend, Path stateDir, Instant startedAt,
                     Supplier<ListGpuAllocationsResponse> gpuAllocations) {
        this.images = images;
        this.gc = gc;
        this.backend = backend;
        this.stateDir = stateDir;
        this.startedAt = startedAt;
        this.gpuAllocations = gpuAllocations;
    }

    @Override
    public void listGpuAllocations(ListGpuAllocationsRequest req, StreamObserver<ListGpuAllocationsResponse> out) {
        Rpc.unary("ListGpuAllocations", out, gpuAllocations::get);
    }

    @Override
    public void importImage(ImportImageRequest req, StreamObserver<ImportImageResponse> out) {
        Rpc.unary("ImportImage", out, () -> {
            if (req.getPath().isEmpty() || !req.getPath().startsWith("/")) {
                throw CriException.invalid("import path must be an absolute path on the daemon's host");
            }
            long t0 = System.nanoTime();
            List<ImageRecord> imported = images.importImage(Path.of(req.getPath()),
                    req.getName().isEmpty() ? Optional.empty() : Optional.of(req.getName()));
            ImportImageResponse.Builder b = ImportImageResponse.newBuilder();
            for (ImageRecord r : imported) {
                b.addImages(ImportedImage.newBuilder().setId(r.id()).addAllRepoTags(r.repoTags())
                        .addAllRepoDigests(r.repoDigests()).setSize(r.size()));
                LOG.info("image.imported", "id", r.id(), "tags", String.join(",", r.repoTags()), "bytes", r.size(),
                        "ms", (System.nanoTime() - t0) / 1_000_000);
            }
            return b.build();
        });
    }

    /** {@code pve-cri images gc}: a manual garbage collection run (or its plan, for a dry run). */
    @Override
    public void collectImageGarbage(CollectImageGarbageRequest req, StreamObserver<CollectImageGarbageResponse> out) {
        Rpc.unary("CollectImageGarbage", out, () -> {
            int target = req.hasTargetUsagePercent() ? req.getTargetUsagePercent() : gc.config().lowThresholdPercent();
            if (target < 0 || target > 100) {
                throw CriException.invalid("target_usage_percent " + target + " is out of range 0..100");
            }
            GcResult r = gc.collectNow(OptionalInt.of(target), req.getDryRun());
            if (r.dryRun()) {
                LOG.info("image.gc_dry_run", "would_remove", r.removed().size(), "reclaimed_bytes", r.reclaimedBytes(),
                        "target_percent", target);
            }
            CollectImageGarbageResponse.Builder b = CollectImageGarbageResponse.newBuilder()
                    .setReclaimedBytes(r.reclaimedBytes()).setDurationMillis(r.elapsed().toMillis())
                    .setTargetUsagePercent(target).setDryRun(r.dryRun()).addAllErrors(r.errors());
            if (r.before() != null) {
                b.setUsagePercentBefore(r.before().usedPercent());
            }
            if (r.after() != null) {
                b.setUsagePercentAfter(r.after().usedPercent());
            }
            for (GcResult.Removed x : r.removed()) {
                b.addRemoved(CollectedImage.newBuilder().setId(x.image().id()).addAllRepoTags(x.image().repoTags())
                        .setReclaimedBytes(x.reclaimedBytes())
                        .setLastUsedUnixNanos(x.image().lastUsed().getEpochSecond() * 1_000_000_000L + x.image().lastUsed().getNano()));
            }
            return b.build();
        });
    }

    @Override
    public void daemonInfo(DaemonInfoRequest req, StreamObserver<DaemonInfoResponse> out) {
        Rpc.unary("DaemonInfo", out, () -> DaemonInfoResponse.newBuilder().setVersion(Version.VERSION).setBackend(backend)
                .setStateDir(stateDir.toString()).setPid(ProcessHandle.current().pid())
                .setStartedAtUnixNanos(startedAt.getEpochSecond() * 1_000_000_000L + startedAt.getNano()).build());
    }
}
