package io.pvecri.daemon.rootfs;

import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.util.FileTrees;

import java.nio.file.Path;
import java.util.Map;

/**
 * {@code storage.format: dir} (the default): the image store's unpacked tree is the read-only
 * overlay lower dir of every container of the image; each container writes to its own upper dir
 * {@code <containersDir>/<id>/upper}. Nothing per image.
 */
public final class DirFormat implements RootfsFormat {
    private final UpperDirs upperDirs;
    private final Observer observer;

    public DirFormat(Path containersDir, Observer observer) {
        this.upperDirs = new UpperDirs(containersDir);
        this.observer = observer;
    }

    @Override
    public String name() {
        return "dir";
    }

    @Override
    public LaunchSpec.Rootfs prepare(String containerId, String imageId, Path imageTree) throws RootfsException {
        String id = Tools.containerId(containerId);
        return Timed.call(observer, name(), "prepare", _ -> new LaunchSpec.Rootfs.Overlay(imageTree, upperDirs.create(id)));
    }

    @Override
    public void release(String containerId) throws RootfsException {
        String id = Tools.containerId(containerId);
        Timed.run(observer, name(), "release", _ -> upperDirs.delete(id));
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
        return upperDirs.path(containerId);
    }

    @Override
    public FileTrees.Usage writableUsage(String containerId) {
        return upperDirs.usage(containerId);
    }

    @Override
    public FileTrees.Usage imageUsage() {
        return new FileTrees.Usage(0, 0);
    }

    @Override
    public FileTrees.Usage layersOutsideContainersDir() {
        return new FileTrees.Usage(0, 0);
    }
}
