# The Debian package libapache2-mod-coinpay-auth (scripts/package-deb.sh runs cpack on a build
# tree). CPack's DEB generator reuses the build (no second compile, fast in CI); dpkg-shlibdeps
# computes the library dependencies; the Apache module ABI dependency is what dh_apache2 adds.
# The version is the one in project(VERSION ...).
set(COINPAY_DEB_NAME libapache2-mod-coinpay-auth)
set(COINPAY_DOC_DIR share/doc/${COINPAY_DEB_NAME} CACHE STRING
    "Where `cmake --install` and the package put README, docs and examples (under the prefix)")

# Docs and examples: part of every install.
install(FILES README.md DESTINATION ${COINPAY_DOC_DIR} COMPONENT doc)
file(GLOB COINPAY_DOC_PAGES CONFIGURE_DEPENDS docs/*.md)
install(FILES ${COINPAY_DOC_PAGES} DESTINATION ${COINPAY_DOC_DIR} COMPONENT doc)
install(DIRECTORY docs/providers conf/examples DESTINATION ${COINPAY_DOC_DIR} COMPONENT doc)

# Debian-only files, only in the package, not in a plain `cmake --install`: copyright and
# changelog.gz (the name for a native package, as lintian wants).
string(TIMESTAMP COINPAY_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)   # honours SOURCE_DATE_EPOCH
configure_file(packaging/debian/changelog.in ${CMAKE_BINARY_DIR}/deb/changelog @ONLY)
find_program(GZIP gzip REQUIRED)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/deb/changelog.gz
                   COMMAND ${GZIP} -9nkf ${CMAKE_BINARY_DIR}/deb/changelog
                   DEPENDS ${CMAKE_BINARY_DIR}/deb/changelog
                   COMMENT "changelog.gz for the Debian package")
add_custom_target(coinpay_deb_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/deb/changelog.gz)
install(FILES packaging/debian/copyright ${CMAKE_BINARY_DIR}/deb/changelog.gz
        DESTINATION ${COINPAY_DOC_DIR} COMPONENT deb EXCLUDE_FROM_ALL)

# Apache's module ABI (MMN major), as dh_apache2 declares it: apache2-api-<MMN>.
execute_process(COMMAND ${APXS} -q HTTPD_MMN OUTPUT_VARIABLE COINPAY_HTTPD_MMN
                OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _mmn_rc)
if(NOT _mmn_rc EQUAL 0 OR NOT COINPAY_HTTPD_MMN MATCHES "^[0-9]+$")
  message(FATAL_ERROR "apxs -q HTTPD_MMN gave '${COINPAY_HTTPD_MMN}': install apache2-dev")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ${COINPAY_DEB_NAME})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "mod_coinpay_auth")
set(CPACK_PACKAGE_CONTACT "mod_coinpay_auth maintainers <maintainers@mod-coinpay-auth.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Sign in with CoinPay (OpenID Connect) for Apache httpd")
# The extended description (CPack puts the summary first): lines of at most 80 characters.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"mod_coinpay_auth puts Sign in with CoinPay (OpenID Connect, Authorization
Code + PKCE) in front of anything Apache serves: static files, CGI programs,
proxied applications. It also accepts bearer tokens (JWT or introspected)
for APIs and keeps sessions in shared memory or Redis.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)                 # the module without its debug symbols
set(CPACK_OUTPUT_FILE_PREFIX deb)         # <build>/deb/
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR})
# One package from the components listed (the "deb" one is left out of a plain install).
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL module conf doc deb)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # <name>_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION httpd)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://mod-coinpay-auth.invalid/")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)    # libcjose0, libjansson4, libcurl4, libhiredis, ...
set(CPACK_DEBIAN_PACKAGE_DEPENDS "apache2-api-${COINPAY_HTTPD_MMN}, apache2-bin (>= 2.4.16)")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/prerm ${CMAKE_SOURCE_DIR}/packaging/debian/postrm
    ${CMAKE_BINARY_DIR}/deb/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
file(WRITE ${CMAKE_BINARY_DIR}/deb/conffiles "/etc/apache2/mods-available/coinpay_auth.conf\n"
                                             "/etc/apache2/mods-available/coinpay_auth.load\n")
include(CPack)
