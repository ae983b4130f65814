// Command gen-catalog compiles the EC2 facts in hack/data/ec2 into the
// instance-type table of package launcher/catalog, so that the catalog works
// offline and its tests and the simulator share one set of numbers.
//
// It runs from the catalog package through go generate:
//
//	//go:generate go run ../../hack/gen-catalog
//
// The facts are checked on the way: an unknown label, a label that disagrees
// with the type's name, a price that differs between the two files, or a pod
// limit the ENI formula cannot explain stops the generator instead of
// producing a table that quietly disagrees with the data.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dataDir := flag.String("data", filepath.Join("..", "..", "hack", "data", "ec2"), "directory holding instance-types.json, ebs-attachments.json and prices-<region>.json")
	region := flag.String("region", "us-east-1", "region of the price file")
	out := flag.String("o", "zz_generated.instancetypes.go", "file to write")
	pkg := flag.String("package", "catalog", "package clause of the generated file")
	flag.Parse()

	if err := run(*dataDir, *region, *out, *pkg); err != nil {
		fmt.Fprintln(os.Stderr, "gen-catalog:", err)
		os.Exit(1)
	}
}

func run(dataDir, region, out, pkg string) error {
	types, err := readInstanceTypes(filepath.Join(dataDir, "instance-types.json"))
	if err != nil {
		return err
	}
	prices, err := readPrices(filepath.Join(dataDir, "prices-"+region+".json"), region)
	if err != nil {
		return err
	}
	table, err := buildTable(types, prices)
	if err != nil {
		return err
	}
	ebs, err := readEBSAttachments(filepath.Join(dataDir, "ebs-attachments.json"))
	if err != nil {
		return err
	}
	if err := setEBSAttachments(table, ebs); err != nil {
		return err
	}
	src, err := render(pkg, region, table)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, src, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}
