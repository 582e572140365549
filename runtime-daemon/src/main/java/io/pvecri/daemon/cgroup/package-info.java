/**
 * Linux control groups for CRI containers: detect the host's cgroup layout (v1, hybrid or
 * pure v2) from {@code /proc/self/mountinfo}, resolve the cgroup directories of a container's
 * init process, read its resource usage ({@link io.pvecri.daemon.cgroup.CgroupStats}), apply
 * CRI resource limits ({@link io.pvecri.daemon.cgroup.Resources}) and render the same limits
 * as LXC configuration lines ({@link io.pvecri.daemon.cgroup.LxcCgroupKeys}).
 *
 * <p>Entry point: {@link io.pvecri.daemon.cgroup.CgroupHost#detect()}.
 */
package io.pvecri.daemon.cgroup;
