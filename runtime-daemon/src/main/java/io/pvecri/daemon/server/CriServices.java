package io.pvecri.daemon.server;

import io.grpc.BindableService;
import io.pvecri.daemon.backend.ContainerBackend;
import io.pvecri.daemon.container.ContainerManager;
import io.pvecri.daemon.pod.PodManager;
import io.pvecri.daemon.streaming.StreamingService;
import io.pvecri.image.ImageGc;
import io.pvecri.image.ImageStore;
import io.pvecri.image.RegistryPuller;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/** Builds the services served on the CRI socket: RuntimeService, ImageService, AdminService. */
public final class CriServices {
    private CriServices() {}

    public static List<BindableService> create(PodManager pods, ContainerManager containers, ContainerBackend backend,
                                               ImageStore images, ImageGc imageGc, Path stateDir, Path imagesDir, Path containersDir,
                                               Instant startedAt, StreamingService streaming, RegistryPuller puller,
                                               java.util.function.Supplier<io.pvecri.proto.admin.v1.ListGpuAllocationsResponse> gpuAllocations,
                                               io.pvecri.daemon.rootfs.RootfsFormat rootfsFormat) {
        return List.of(
                new RuntimeServiceImpl(pods, containers, backend, new PodStatsReader(containers), streaming),
                new ImageServiceImpl(images, imageGc, imagesDir, containersDir, puller, rootfsFormat),
                new AdminServiceImpl(images, imageGc, backend.name(), stateDir, startedAt, gpuAllocations));
    }
}
