package io.pvecri.daemon.rootfs;

import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.util.FileTrees;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code storage.format: dir} (the default): the image store's unpacked tree is the read-only
 * overlay lower dir of every container of the image; each container writes to its own upper dir
 * {@code <containersDir>/<id>/upper}. Nothing per image.
 */
public final class DirFormat implements RootfsFormat {
    private final Path containersDir;
    private final Observer observer;

    public DirFormat(Path containersDir, Observer observer) {
        this.containersDir = containersDir;
        this.observer = observer;
    }

    @Override
    public String name() {
        return "dir";
    }

    @Override
    public LaunchSpec.Rootfs prepare(String containerId, String imageId, Path imageTree) throws RootfsException {
        long t0 = System.nanoTime();
        Path upper = upper(Tools.containerId(containerId));
        try {
            Files.createDirectories(upper);
        } catch (IOException e) {
            RootfsException failure = new RootfsException(RootfsException.classify(String.valueOf(e.getMessage())),
                    "cannot create the upper dir " + upper + ": " + e.getMessage(), e);
            observer.done(name(), "prepare", System.nanoTime() - t0, failure);
            throw failure;
        }
        observer.done(name(), "prepare", System.nanoTime() - t0, null);
        return new LaunchSpec.Rootfs.Overlay(imageTree, upper);
    }

    @Override
    public void release(String containerId) throws RootfsException {
        long t0 = System.nanoTime();
        try {
            FileTrees.deleteRetrying(upper(Tools.containerId(containerId)));
        } catch (IOException e) {
            RootfsException failure = new RootfsException(RootfsException.Reason.FAILED,
                    "cannot delete the upper dir of container " + containerId + ": " + e.getMessage(), e);
            observer.done(name(), "release", System.nanoTime() - t0, failure);
            throw failure;
        }
        observer.done(name(), "release", System.nanoTime() - t0, null);
    }

    @Override
    public void imageRemoved(String imageId) {
        // The image store removed the tree itself; nothing else exists per image.
    }

    @Override
    public void recover(Map<String, String> containers, Map<String, Path> images) {
        // Upper dirs live in the container directories, whose orphans the daemon removes.
    }

    @Override
    public Path writableLayer(String containerId) {
        return containersDir.resolve(containerId).resolve("upper");
    }

    @Override
    public FileTrees.Usage writableUsage(String containerId) {
        return FileTrees.usage(writableLayer(containerId));
    }

    @Override
    public FileTrees.Usage imageUsage() {
        return new FileTrees.Usage(0, 0);
    }

    @Override
    public FileTrees.Usage layersOutsideContainersDir() {
        return new FileTrees.Usage(0, 0);
    }

    private Path upper(String containerId) {
        return containersDir.resolve(containerId).resolve("upper");
    }
}
