# The .deb of fabtwin: `cpack --config build/release/CPackConfig.cmake` (or `make package`). Its
# Depends are computed by dpkg-shlibdeps from the libraries the binary links (ns-3, rdma-core, ...),
# so they are the Debian packages this build was made against.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fabtwin)
set(CPACK_PACKAGE_VENDOR "fabtwin")
set(CPACK_PACKAGE_CONTACT "fabtwin maintainers <fabtwin@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "network-fabric emulator and collective benchmark suite")
set(CPACK_PACKAGE_DESCRIPTION
    "Predicts, simulates (ns-3 packet model of InfiniBand and RoCE fabrics) and measures (RDMA verbs) collective operations from one plan, and imports nccl-tests logs to compare with them.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Plots (compare --plot, check --trend --plot) run gnuplot; `fabtwin run` needs an RDMA provider.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "gnuplot-nox | gnuplot, ibverbs-providers")
set(CPACK_STRIP_FILES ON)
include(CPack)
