// sebaya-android: the generated Kotlin bindings (package org.sebaya) plus libsebaya.so for
// arm64-v8a, armeabi-v7a, x86_64 and x86, as one Android library (AAR).
//
// The Rust side is built by build-rust.sh (cargo-ndk), which this build runs before compiling unless
// `-Psebaya.skipRust=true` is given (then the libraries and bindings from an earlier run are used).
// UNVERIFIED: written without an Android SDK or Gradle at hand; versions are the current stable ones
// when this was written and may be raised freely (AGP 8.5.1+ is needed for 16 KB page alignment).
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
    `maven-publish`
}

group = "org.sebaya"
// scripts/release.sh passes the workspace version (Cargo.toml), so every artefact carries one version.
version = providers.gradleProperty("sebaya.version").orNull ?: "0.1.0"

android {
    namespace = "org.sebaya.android"
    compileSdk = 35
    // NDK r27 or later: 16 KB page support (build-rust.sh also passes max-page-size=16384).
    ndkVersion = "27.2.12479018"

    defaultConfig {
        minSdk = 24
        // Apps that shrink with R8 get these keep rules automatically (JNA + org.sebaya).
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets["main"].apply {
        // Written by build-rust.sh; both are git-ignored, generated from the Rust code.
        java.srcDir("src/main/kotlin")
        jniLibs.srcDir("src/main/jniLibs")
        // The hand-written glue (committed): transports, the Keystore key store, the lifecycle
        // helper. `common` also compiles on a desktop JVM and is tested there (scripts/test.sh
        // kotlin); `android` needs the SDK and `okhttp` needs OkHttp 4+: both UNVERIFIED.
        java.srcDir("src/glue/common")
        java.srcDir("src/glue/android")
        java.srcDir("src/glue/okhttp")
        // Suspend functions and Flows (kotlinx-coroutines; unverified: never compiled where written).
        java.srcDir("src/glue/coroutines")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    packaging {
        jniLibs {
            // Keep .so files uncompressed and page-aligned in the APK, so they load in place on
            // 16 KB-page devices (and the APK stays smaller on disk after install).
            useLegacyPackaging = false
        }
    }

    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // JNA loads libsebaya.so and calls it. 5.17.0 is the first release whose own libjnidispatch.so
    // loads on 16 KB-page devices (5.16.0 tried and was incomplete). `@aar` takes the Android
    // packaging (JNA's native code for every ABI);
    // `api` so the app's code that touches generated types compiles against it too.
    api("net.java.dev.jna:jna:5.17.0@aar")
    // ProcessLifecycleBinding.kt: when the whole app goes to the background (UNVERIFIED version).
    implementation("androidx.lifecycle:lifecycle-process:2.8.7")
    // OkHttpTransport.kt only: the app brings its own OkHttp if it uses that transport, so the library
    // forces no HTTP client on anyone (UNVERIFIED: OkHttp 4+ could not be had where this was written).
    compileOnly("com.squareup.okhttp3:okhttp:4.12.0")
    // Suspend functions and Flows over the blocking calls (src/main/kotlin/org/sebaya/coroutines).
    // UNVERIFIED: not available where this was written, so that file has never been compiled.
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
}

val buildRust by tasks.registering(Exec::class) {
    description = "Builds libsebaya.so for the four ABIs and generates the Kotlin bindings (build-rust.sh)."
    workingDir = projectDir
    commandLine("bash", "build-rust.sh")
}

if (providers.gradleProperty("sebaya.skipRust").orNull != "true") {
    tasks.named("preBuild") { dependsOn(buildRust) }
}

publishing {
    publications {
        register<MavenPublication>("release") {
            artifactId = "sebaya-android"
            afterEvaluate { from(components["release"]) }
            // What a repository needs to accept the artefact and an app team needs to trust it: the
            // licence and where the source is. The addresses are the publisher's
            // (gradle.properties or -P from scripts/release.sh); the build refuses placeholders.
            pom {
                name.set("sebaya-android")
                description.set(
                    "Sebaya's offline-first, end-to-end encrypted core for peer-support programmes: " +
                        "Kotlin bindings and libsebaya.so for four ABIs."
                )
                url.set(publicationSetting("sebaya.pom.url"))
                licenses {
                    license {
                        name.set("Apache-2.0")
                        url.set("https://www.apache.org/licenses/LICENSE-2.0.txt")
                        distribution.set("repo")
                    }
                }
                scm {
                    url.set(publicationSetting("sebaya.pom.scm"))
                    connection.set(publicationSetting("sebaya.pom.scm").map { "scm:git:$it" })
                }
            }
        }
    }
    repositories {
        // scripts/release.sh aar publishes here; the publisher uploads the folder to their repository.
        maven {
            name = "dist"
            url = uri(rootProject.layout.projectDirectory.dir("../dist/maven"))
        }
    }
}

fun publicationSetting(name: String): Provider<String> =
    providers.gradleProperty(name).map {
        require(!it.contains("UNSET")) { "set $name (gradle.properties or -P$name=...) before publishing" }
        it
    }
