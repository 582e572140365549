package io.pvecri.daemon.server;

import io.grpc.BindableService;
import io.pvecri.daemon.backend.ContainerBackend;
import io.pvecri.daemon.container.ContainerManager;
import io.pvecri.daemon.pod.PodManager;
import io.pvecri.image.ImageStore;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/** Builds the services served on the CRI socket: RuntimeService, ImageService, AdminService. */
public final class CriServices {
    private CriServices() {}

    public static List<BindableService> create(PodManager pods, ContainerManager containers, ContainerBackend backend,
                                               ImageStore images, Path stateDir, Path imagesDir, Path containersDir,
                                               Instant startedAt) {
        return List.of(
                new RuntimeServiceImpl(pods, containers, backend, new PodStatsReader(containers)),
                new ImageServiceImpl(images, imagesDir, containersDir),
                new AdminServiceImpl(images, backend.name(), stateDir, startedAt));
    }
}
