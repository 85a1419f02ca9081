// The Sebaya Android library as a build of its own. An app uses it in one of two ways:
//   - composite build: in the app's settings.gradle.kts, `includeBuild("path/to/sebaya/android")`,
//     then `implementation("org.sebaya:sebaya-android")`;
//   - a local Maven artefact: `./gradlew publishToMavenLocal` here, then
//     `implementation("org.sebaya:sebaya-android:0.1.0")` with `mavenLocal()` in the app's repositories.
// UNVERIFIED: no Android SDK or Gradle on the machine where this was written (see README.md).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "sebaya-android"
