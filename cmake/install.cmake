# `cmake --install build --prefix P`: the mpq CLI, libmpq.so and libmpq.a, the public headers
# (include/mpq/ only: nothing under src/ is installed), the CMake package (find_package(mpq) ->
# mpq::mpq, mpq::mpq_static) and mpq.pc for pkg-config.
include(CMakePackageConfigHelpers)

set(MPQ_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/mpq)
set(MPQ_EXPORTED_TARGETS mpq_static mpq_shared)
if(MPQ_CUDA)
  list(APPEND MPQ_EXPORTED_TARGETS mpq_cuda_kernels)  # linked by libmpq.a's consumers
endif()

install(TARGETS mpq RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${MPQ_EXPORTED_TARGETS} EXPORT mpqTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mpq DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

install(EXPORT mpqTargets NAMESPACE mpq:: DESTINATION ${MPQ_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mpqConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/mpqConfig.cmake
                              INSTALL_DESTINATION ${MPQ_INSTALL_CMAKEDIR}
                              PATH_VARS CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mpqConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mpqConfig.cmake ${PROJECT_BINARY_DIR}/mpqConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/FindDNNL.cmake
        DESTINATION ${MPQ_INSTALL_CMAKEDIR})

# mpq.pc finds its prefix from its own location (${pcfiledir}), so the tree can be installed
# with --prefix anywhere or moved. Libs.private: what `pkg-config --static` adds for libmpq.a.
file(RELATIVE_PATH MPQ_PC_PREFIX_FROM_PCDIR ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig
     ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" MPQ_PC_PREFIX_FROM_PCDIR "${MPQ_PC_PREFIX_FROM_PCDIR}")
set(MPQ_PC_LIBS_PRIVATE "-lonnx -lonnx_proto")
if(MPQ_DNNL)
  string(APPEND MPQ_PC_LIBS_PRIVATE " -ldnnl")
endif()
if(MPQ_CUDA)
  string(APPEND MPQ_PC_LIBS_PRIVATE " -lmpq_cuda_kernels -L${CUDAToolkit_LIBRARY_DIR} -lcudart_static -ldl -lrt")
endif()
string(APPEND MPQ_PC_LIBS_PRIVATE " -fopenmp -pthread")
configure_file(${PROJECT_SOURCE_DIR}/cmake/mpq.pc.in ${PROJECT_BINARY_DIR}/mpq.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mpq.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
