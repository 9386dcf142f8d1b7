module github.com/spraywatch/spraywatch

go 1.26.8
