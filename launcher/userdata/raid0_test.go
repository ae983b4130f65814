package userdata

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"sigs.k8s.io/yaml"

	ec2v1 "github.com/tailor-project/tailor/apis/ec2/v1"
)

// TestRAID0 checks that the RAID0 instance-store policy reaches each
// family's bootstrap in the form it reads, and nothing of it appears when
// the policy is not set.
func TestRAID0(t *testing.T) {
	for _, family := range []string{ec2v1.AMIFamilyAL2023, ec2v1.AMIFamilyAL2, ec2v1.AMIFamilyBottlerocket} {
		t.Run(family, func(t *testing.T) {
			cfg := testConfig()
			plain, err := Render(family, cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.RAID0 = true
			raid, err := Render(family, cfg)
			if err != nil {
				t.Fatal(err)
			}
			switch family {
			case ec2v1.AMIFamilyAL2023:
				doc := nodeConfigOf(t, raid)
				if got := doc.Spec.Instance; got == nil || got.LocalStorage.Strategy != "RAID0" {
					t.Errorf("NodeConfig instance %+v, want localStorage.strategy RAID0", got)
				}
				if nodeConfigOf(t, plain).Spec.Instance != nil {
					t.Error("NodeConfig sets an instance block without the policy")
				}
			case ec2v1.AMIFamilyAL2:
				if !strings.Contains(raid, "--local-disks raid0") {
					t.Errorf("bootstrap.sh call lacks --local-disks raid0:\n%s", raid)
				}
				if strings.Contains(plain, "--local-disks") {
					t.Error("bootstrap.sh call sets up local disks without the policy")
				}
			case ec2v1.AMIFamilyBottlerocket:
				var doc struct {
					Settings struct {
						BootstrapCommands map[string]struct {
							Commands  [][]string
							Mode      string
							Essential bool
						} `toml:"bootstrap-commands"`
					}
				}
				if _, err := toml.Decode(raid, &doc); err != nil {
					t.Fatal(err)
				}
				cmd, ok := doc.Settings.BootstrapCommands[raid0Command]
				if !ok || len(cmd.Commands) != 2 || strings.Join(cmd.Commands[0], " ") != "apiclient ephemeral-storage init" ||
					!strings.HasPrefix(strings.Join(cmd.Commands[1], " "), "apiclient ephemeral-storage bind") || cmd.Mode != "always" || !cmd.Essential {
					t.Errorf("bootstrap command %+v, want ephemeral-storage init and bind, always, essential", cmd)
				}
				if strings.Contains(plain, "bootstrap-commands") {
					t.Error("settings carry bootstrap commands without the policy")
				}
			}
		})
	}
}

// TestRAID0KeepsUserBootstrapCommands: a Bottlerocket class's own bootstrap
// commands stay beside the one that sets up the disks.
func TestRAID0KeepsUserBootstrapCommands(t *testing.T) {
	cfg := testConfig()
	cfg.RAID0 = true
	cfg.Custom = "[settings.bootstrap-commands.010-tune]\ncommands = [[\"sysctl\", \"-w\", \"vm.max_map_count=262144\"]]\nmode = \"once\"\nessential = false\n"
	out, err := Render(ec2v1.AMIFamilyBottlerocket, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"010-tune", raid0Command} {
		if !strings.Contains(out, want) {
			t.Errorf("settings lack bootstrap command %s:\n%s", want, out)
		}
	}
	cfg.Custom = "[settings]\nbootstrap-commands = 3\n"
	if err := Validate(ec2v1.AMIFamilyBottlerocket, cfg.Custom); err == nil {
		t.Error("bootstrap-commands that is not a table was accepted")
	}
}

// nodeConfigOf reads the NodeConfig Tailor writes, the last MIME part.
func nodeConfigOf(t *testing.T, doc string) nodeConfig {
	t.Helper()
	parts := mustParts(t, doc)
	var nc nodeConfig
	if err := yaml.Unmarshal([]byte(parts[len(parts)-1].body), &nc); err != nil {
		t.Fatal(err)
	}
	return nc
}
